// hard_skip.cpp: TransformerImpl::forward_hard_skip (see transformer.h), the measured counterpart of the paper's
// estimated savings. Per gated block:
//   1. active = gate > 0 per token; n = the largest active count over the batch;
//   2. gather each sequence's active tokens in position order into [B, n, dim] (shorter rows padded with inactive
//      tokens, marked invalid), with RoPE rows taken at their original positions;
//   3. mask: causal by original position among valid keys, plus ln(gate) on keys for key gating;
//   4. run the block on [B, n, dim] and scatter the valid rows back. Blocks with no active token are skipped whole.
#include <torch/torch.h>

#include <limits>

#include "harness/model/transformer.h"
#include "profiling/ranges.h"

namespace skipbench {

ForwardOutput TransformerImpl::forward_hard_skip(const torch::Tensor& tokens) {
  torch::NoGradGuard ng;
  const auto B = tokens.size(0), T = tokens.size(1), D = cfg.dim;
  const RopeTables rope = rope_for(tokens);
  const AttentionGate mode = gates ? gates->attention_gate() : AttentionGate::none;
  const auto dev = tokens.device();
  auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(dev));

  ForwardOutput out;
  hard_skip_computed = hard_skip_possible = 0;
  auto h = input_norm(tok_embeddings(tokens));
  if (gates) gates->begin(B, T);
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    prof::Range block_range("block", l);
    auto g = gate_of(l, h, out);
    hard_skip_possible += B * T;
    if (!g.defined()) {  // an ungated block computes everything
      h = blocks[l]->forward(h, rope, g, mode);
      hard_skip_computed += B * T;
    } else {
      auto active = g > 0;
      const auto per_seq = active.sum(1);
      // the gather needs the count on the host: one read per block (max and total together)
      const auto counts = torch::stack({per_seq.max(), per_seq.sum()}).cpu();
      const int64_t n = counts[0].item<int64_t>();
      hard_skip_computed += counts[1].item<int64_t>();
      if (n == T) {
        h = blocks[l]->forward(h, rope, g, mode);
      } else if (n > 0) {
        // active positions first, each group in position order: sort keys t (active) or T + t (inactive)
        auto order = torch::where(active, positions, positions + T).argsort(/*dim=*/int64_t{1}).slice(1, 0, n);  // [B, n]
        auto valid = active.gather(1, order);                                                  // [B, n]
        auto idx3 = order.unsqueeze(-1).expand({B, n, D});
        auto xs = h.gather(1, idx3);
        auto gs = g.gather(1, order);
        RopeTables r{rope.cos.index_select(0, order.flatten()).view({B, n, -1}),
                     rope.sin.index_select(0, order.flatten()).view({B, n, -1})};
        // key k visible to query q when it is valid and not later in the original sequence
        auto visible = valid.unsqueeze(1) & (order.unsqueeze(1) <= order.unsqueeze(2));  // [B, q, k]
        // padding rows (discarded below) see themselves, so no softmax row is empty
        visible = visible | torch::eye(n, torch::TensorOptions().dtype(torch::kBool).device(dev)).unsqueeze(0);
        auto mask = torch::zeros({B, n, n}, torch::TensorOptions().dtype(torch::kFloat32).device(dev))
                        .masked_fill(visible.logical_not(), -std::numeric_limits<float>::infinity());
        if (mode == AttentionGate::key) mask = mask + attention_gate_bias(gs, mode).squeeze(1);
        auto ys = blocks[l]->forward_masked(xs, r, mask.unsqueeze(1), gs);
        h = h.scatter(1, idx3, torch::where(valid.unsqueeze(-1), ys, xs));
      }
    }
    if (record_residual_norms) out.residual_norms.push_back(h.to(torch::kFloat32).norm(2, -1));
  }
  out.logits = output(output_norm(h));
  return out;
}

}  // namespace skipbench
