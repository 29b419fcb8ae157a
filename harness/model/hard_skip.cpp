// hard_skip.cpp: TransformerImpl::forward_hard_skip (see transformer.h), the measured counterpart of the paper's
// estimated savings. Per gated block:
//   1. active = gate > 0; the flat indices of the active (token, block) pairs, sequence by sequence in position
//      order (one host read per block: the per-sequence counts and last active positions, which size the work);
//   2. no active token: the block is skipped whole; every token active: the dense block (the same computation);
//   3. otherwise pack the active tokens into [1, N, dim] with their RoPE rows at their original positions, run
//      the block's norms, projections and FFN on exactly those N rows and its attention per sequence
//      (AttentionImpl::forward_packed), and write the N outputs back into the residual.
// The work executed is counted from those shapes (SkipWork, standard-mode FLOPs).
// Per-branch gates (skip_branches, residual_gates): the same per sub-layer. The attention branch packs the tokens
// whose attention multiplier is non-zero as queries against every token's keys and values (skipped tokens stay
// visible, as in the soft path, which attends to them); the FFN branch packs the tokens whose FFN multiplier is
// non-zero. Each packed output, times its multiplier, is added to those tokens' residual rows.
#include <torch/torch.h>

#include <vector>

#include "harness/model/transformer.h"
#include "profiling/ranges.h"

namespace skipbench {

void SkipWork::add(const SkipWork& o) {
  projections += o.projections, attention += o.attention, ffn += o.ffn;
  dense_projections += o.dense_projections, dense_attention += o.dense_attention, dense_ffn += o.dense_ffn;
  computed += o.computed, possible += o.possible;
}

namespace {
// Standard-mode FLOPs of one block's matmuls: q and o projections for n_q tokens, k and v for n_kv tokens,
// scores and values for `pairs` (query, key) pairs, the SwiGLU FFN for n_q tokens.
struct BlockCost {
  double d, h_hd, kv_hd, f;
  double projections(double n_q, double n_kv) const { return 2 * n_q * d * h_hd * 2 + 2 * n_kv * d * kv_hd * 2; }
  double attention(double pairs) const { return 4 * pairs * h_hd; }
  double ffn(double n_q) const { return 2 * n_q * 3 * d * f; }
};
}  // namespace

torch::Tensor TransformerImpl::skip_block(int64_t l, const torch::Tensor& h, const torch::Tensor& g,
                                         const RopeTables& rope, AttentionGate mode, SkipWork& w) {
  const auto B = h.size(0), T = h.size(1), D = cfg.dim;
  const bool keys_of_skipped = mode != AttentionGate::key;  // none / reference attend to skipped tokens too
  const BlockCost cost{static_cast<double>(D), static_cast<double>(cfg.n_heads * (D / cfg.n_heads)),
                       static_cast<double>(cfg.kv_heads() * (D / cfg.n_heads)), static_cast<double>(cfg.hidden())};
  const double BT = static_cast<double>(B * T);
  w.possible += B * T;
  w.dense_projections += cost.projections(BT, BT);
  w.dense_attention += cost.attention(BT * static_cast<double>(T));
  w.dense_ffn += cost.ffn(BT);
  auto dense_block = [&]() {
    w.computed += B * T;
    w.projections += cost.projections(BT, BT);
    w.attention += cost.attention(BT * static_cast<double>(T));
    w.ffn += cost.ffn(BT);
    return blocks[l]->forward(h, rope, g, mode);
  };
  if (!g.defined()) return dense_block();  // an ungated block computes everything
  auto active = (g > 0).detach();  // [B, T]
  auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
  // per sequence: active count and last active position + 1 (the keys a none/reference query can see)
  auto last = torch::where(active, positions + 1, torch::zeros_like(positions)).amax(1);
  const auto host = torch::stack({active.sum(1), last}).cpu();  // [2, B]: the one host read of the block
  const auto* hp = host.data_ptr<int64_t>();
  std::vector<int64_t> counts(hp, hp + B), key_len(hp + B, hp + 2 * B);
  int64_t N = 0;
  double pairs = 0;
  for (int64_t b = 0; b < B; ++b) {
    N += counts[b];
    pairs += static_cast<double>(counts[b]) * static_cast<double>(keys_of_skipped ? key_len[b] : counts[b]);
  }
  if (N == B * T) return dense_block();
  if (N == 0) return h;  // skipped whole
  auto idx = active.reshape({B * T}).nonzero().squeeze(1);  // [N], row-major: by sequence, then position
  auto q_pos = idx.remainder(T);
  auto flat = h.reshape({B * T, D});
  auto xs = flat.index_select(0, idx).unsqueeze(0);                // [1, N, D]
  auto gs = g.reshape({B * T}).index_select(0, idx).unsqueeze(0);  // [1, N]
  RopeTables rq{rope.cos.index_select(0, q_pos).unsqueeze(0), rope.sin.index_select(0, q_pos).unsqueeze(0)};
  torch::Tensor bias, x_all;
  if (mode == AttentionGate::key) bias = torch::log(gs.squeeze(0).to(torch::kFloat32).clamp(kGateLogFloor, 1.0));
  if (keys_of_skipped) x_all = blocks[l]->pre_attention_norm(h);  // keys and values of every token
  auto& attn = blocks[l]->attention;
  auto ys = blocks[l]->forward_packed(xs, gs, [&](const torch::Tensor& n) {
    return attn->forward_packed(n, rq, q_pos, counts, bias, x_all, rope, key_len);
  });
  w.computed += N;
  w.projections += cost.projections(static_cast<double>(N), keys_of_skipped ? BT : static_cast<double>(N));
  w.attention += cost.attention(pairs);
  w.ffn += cost.ffn(static_cast<double>(N));
  return flat.index_copy(0, idx, ys.squeeze(0).to(flat.scalar_type())).view({B, T, D});
}

torch::Tensor TransformerImpl::skip_branches(int64_t l, const torch::Tensor& h, const BranchGateFn& bg,
                                            const RopeTables& rope, SkipWork& w) {
  const auto B = h.size(0), T = h.size(1), D = cfg.dim;
  const BlockCost cost{static_cast<double>(D), static_cast<double>(cfg.n_heads * (D / cfg.n_heads)),
                       static_cast<double>(cfg.kv_heads() * (D / cfg.n_heads)), static_cast<double>(cfg.hidden())};
  const double BT = static_cast<double>(B * T);
  auto& blk = blocks[l];
  w.possible += 2 * B * T;  // (token, branch) pairs
  w.dense_projections += cost.projections(BT, BT);
  w.dense_attention += cost.attention(BT * static_cast<double>(T));
  w.dense_ffn += cost.ffn(BT);
  auto positions = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
  // The active tokens of one branch from its multiplier m [B, T, G]: per-sequence counts and last active
  // position + 1 (one host read), and their flat indices.
  struct Active {
    std::vector<int64_t> counts, key_len;
    int64_t n = 0;
    torch::Tensor idx;
  };
  auto active_of = [&](const torch::Tensor& m) {
    auto a = m.detach().ne(0).any(-1);  // [B, T]
    auto last = torch::where(a, positions + 1, torch::zeros_like(positions)).amax(1);
    const auto host = torch::stack({a.sum(1), last}).cpu();
    const auto* hp = host.data_ptr<int64_t>();
    Active r{std::vector<int64_t>(hp, hp + B), std::vector<int64_t>(hp + B, hp + 2 * B)};
    for (auto c : r.counts) r.n += c;
    if (r.n > 0 && r.n < B * T) r.idx = a.reshape({B * T}).nonzero().squeeze(1);
    return r;
  };
  auto mult = [](const torch::Tensor& m, const torch::Tensor& like) { return m.to(like.scalar_type()); };
  // attention branch: queries of the active tokens, keys and values of every token up to the last active one
  torch::Tensor x = h;
  {
    prof::Range r("attention");
    const auto m = bg(0, x);
    const auto a = active_of(m);
    w.computed += a.n;
    if (a.n == B * T) {
      w.projections += cost.projections(BT, BT);
      w.attention += cost.attention(BT * static_cast<double>(T));
      x = x + mult(m, x) * blk->post_attention(blk->attention(blk->pre_attention_norm(x), rope, torch::Tensor(),
                                                             AttentionGate::none));
    } else if (a.n > 0) {
      double pairs = 0;
      for (int64_t b = 0; b < B; ++b) pairs += static_cast<double>(a.counts[b]) * static_cast<double>(a.key_len[b]);
      auto q_pos = a.idx.remainder(T);
      auto flat = x.reshape({B * T, D});
      auto xs = flat.index_select(0, a.idx).unsqueeze(0);  // [1, N, D]
      auto ms = m.expand({B, T, m.size(-1)}).reshape({B * T, m.size(-1)}).index_select(0, a.idx).unsqueeze(0);
      RopeTables rq{rope.cos.index_select(0, q_pos).unsqueeze(0), rope.sin.index_select(0, q_pos).unsqueeze(0)};
      auto x_all = blk->pre_attention_norm(x);
      auto ys = blk->attention->forward_packed(blk->pre_attention_norm(xs), rq, q_pos, a.counts, torch::Tensor(),
                                               x_all, rope, a.key_len);
      auto upd = xs + mult(ms, xs) * blk->post_attention(ys);
      x = flat.index_copy(0, a.idx, upd.squeeze(0).to(flat.scalar_type())).view({B, T, D});
      w.projections += cost.projections(static_cast<double>(a.n), BT);
      w.attention += cost.attention(pairs);
    }
  }
  prof::Range r("ffn");
  const auto m = bg(1, x);
  const auto a = active_of(m);
  w.computed += a.n;
  w.ffn += cost.ffn(static_cast<double>(a.n));
  if (a.n == 0) return x;
  if (a.n == B * T) return x + mult(m, x) * blk->post_feed_forward(blk->feed_forward(blk->pre_feed_forward_norm(x)));
  auto flat = x.reshape({B * T, D});
  auto xs = flat.index_select(0, a.idx);  // [N, D]
  auto ms = m.expand({B, T, m.size(-1)}).reshape({B * T, m.size(-1)}).index_select(0, a.idx);
  auto upd = xs + mult(ms, xs) * blk->post_feed_forward(blk->feed_forward(blk->pre_feed_forward_norm(xs)));
  return flat.index_copy(0, a.idx, upd.to(flat.scalar_type())).view({B, T, D});
}

ForwardOutput TransformerImpl::forward_hard_skip(const torch::Tensor& tokens) {
  // the training-time path (forward with skip_compute) without gradients: one loop over the blocks, not two
  torch::NoGradGuard ng;
  const bool was = skip_compute;
  skip_compute = true;
  ForwardOutput out;
  try {
    out = forward(tokens);
  } catch (...) {
    skip_compute = was;
    throw;
  }
  skip_compute = was;
  return out;
}

}  // namespace skipbench
