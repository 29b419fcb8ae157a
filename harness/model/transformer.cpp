// transformer.cpp: see transformer.h.
#include "harness/model/transformer.h"

#include <torch/torch.h>

#include "harness/model/flops.h"
#include "profiling/ranges.h"

namespace skipbench {

TransformerImpl::TransformerImpl(const ModelConfig& c, std::shared_ptr<GatePolicy> g) : cfg(c), gates(std::move(g)) {
  tok_embeddings = register_module("tok_embeddings", torch::nn::Embedding(cfg.vocab_size, cfg.dim));
  if (cfg.input_norm) input_norm = register_module("input_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    blocks.emplace_back(cfg);
    layers->push_back(blocks.back());
  }
  output_norm = register_module("output_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  if (!cfg.tie_embeddings)
    output = register_module("output", torch::nn::Linear(torch::nn::LinearOptions(cfg.dim, cfg.vocab_size).bias(false)));
  if (gates) register_module("gates", gates);
  rope_ = rope_tables(cfg.max_seq_len, cfg.head_dim(), cfg.rope_theta, torch::kCPU);
  init_weights();
}

void TransformerImpl::init_weights() {
  torch::NoGradGuard ng;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* lin = m->as<torch::nn::Linear>()) {
      lin->weight.normal_(0.0, cfg.init_std);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* emb = m->as<torch::nn::Embedding>()) {
      emb->weight.normal_(0.0, cfg.init_std);
    } else if (auto* norm = m->as<RMSNorm>()) {
      norm->weight.fill_(1.0);
    }
  }
}

torch::Tensor TransformerImpl::embed(const torch::Tensor& tokens) {
  auto x = tok_embeddings(tokens);
  return input_norm ? input_norm(x) : x;
}

torch::Tensor TransformerImpl::head_weight() const { return output ? output->weight : tok_embeddings->weight; }

torch::Tensor TransformerImpl::head(const torch::Tensor& h) {
  auto n = output_norm(h);
  return output ? output(n) : torch::linear(n, tok_embeddings->weight);
}

RopeTables TransformerImpl::rope_for(const torch::Tensor& tokens) {
  const auto T = tokens.size(1);
  TORCH_CHECK(T <= cfg.max_seq_len, "sequence length ", T, " exceeds model.max_seq_len ", cfg.max_seq_len);
  if (rope_.cos.device() != tokens.device()) rope_ = {rope_.cos.to(tokens.device()), rope_.sin.to(tokens.device())};
  return {rope_.cos.slice(0, 0, T), rope_.sin.slice(0, 0, T)};
}

torch::Tensor TransformerImpl::gate_of(int64_t l, const torch::Tensor& h, ForwardOutput& out) {
  if (!gates) return {};
  prof::Range r("gate");
  auto g = gates->gate(l, h, out);
  if (g.defined()) out.gates.push_back(g);
  return g;
}

namespace {
// Profiling the backward pass per block: autograd runs it outside our forward ranges, but the gradient of each
// block's output becomes ready exactly when that block's backward starts (and the previous block's ends), so hooks
// on the block boundaries open and close "block.N" ranges inside the caller's "backward" range.
void mark_backward_boundary(torch::Tensor& h, int64_t next_block, bool close_previous) {
  if (!prof::g_active || !h.requires_grad()) return;
  h.register_hook([next_block, close_previous](torch::Tensor grad) {
    if (close_previous) prof::pop_range();
    if (next_block >= 0) prof::push_range("block", next_block);
    return grad;
  });
}
}  // namespace

ForwardOutput TransformerImpl::forward(const torch::Tensor& tokens) {
  const RopeTables rope = rope_for(tokens);
  ForwardOutput out;
  auto h = embed(tokens);
  mark_backward_boundary(h, -1, /*close_previous=*/true);  // block 0's backward ends here
  const AttentionGate mode = gates ? gates->attention_gate() : AttentionGate::none;
  if (gates) gates->begin(tokens.size(0), tokens.size(1));
  SkipWork w;
  TORCH_CHECK(depth >= 0 && depth <= cfg.n_layers, "depth ", depth, " outside 0..", cfg.n_layers);
  const int64_t L = depth > 0 ? depth : cfg.n_layers;
  const bool train_exits = is_training() && !exit_layers.empty();
  size_t next_exit = 0;
  std::vector<bool> gated(L, false);
  const bool branch_gated = gates && gates->has_branch_gates();
  if (branch_gated) out.branch_saving = branch_skip_shares(cfg);
  for (int64_t l = 0; l < L; ++l) {
    prof::Range block_range("block", l);
    if (branch_gated) {  // per-branch gates (residual_gates): no block gate, no output scale
      const BranchGateFn bg = [&](int branch, const torch::Tensor& r) {
        prof::Range gr("gate");
        return gates->branch_gate(l, branch, r, out);
      };
      h = skip_compute ? skip_branches(l, h, bg, rope, w) : blocks[l]->forward_branch_gated(h, rope, bg);
    } else {
      auto g = gate_of(l, h, out);
      gated[l] = g.defined();
      const auto scale = gates ? gates->output_scale(l) : torch::Tensor();
      auto y = skip_compute ? skip_block(l, h, g, rope, mode, w) : blocks[l]->forward(h, rope, g, mode);
      h = scale.defined() ? h + scale.unsqueeze(-1).to(h.scalar_type()) * (y - h) : y;
    }
    mark_backward_boundary(h, l, /*close_previous=*/l + 1 < L);
    if (record_residual_norms) out.residual_norms.push_back(h.detach().to(torch::kFloat32).norm(2, -1));
    const bool exit_here = l + 1 < L && (all_exits || (train_exits && next_exit < exit_layers.size() &&
                                                       exit_layers[next_exit] == l));
    if (exit_here) {
      prof::Range r("exit_head");
      out.exit_logits.push_back(head(h));
      if (train_exits && !all_exits) ++next_exit;
    }
  }
  if (skip_compute) skip_work = w;
  if (!out.gates.empty() && static_cast<int64_t>(out.gates.size()) < L) {
    // a policy that gates some blocks only: the ungated ones computed every token, recorded as gates of 1 so
    // that out.gates[l] is block l's (gate metrics and the FLOPs estimate are per block)
    std::vector<torch::Tensor> all;
    size_t k = 0;
    const auto ones = torch::ones({tokens.size(0), tokens.size(1)}, h.options().dtype(torch::kFloat32));
    for (int64_t l = 0; l < L; ++l) all.push_back(gated[l] ? out.gates[k++] : ones);
    out.gates = std::move(all);
  }
  out.logits = head(h);
  return out;
}

ParamGroups param_groups(TransformerImpl& model) {
  ParamGroups g;
  for (auto& item : model.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    if (name.rfind("gates.", 0) == 0) {
      g.masks.emplace_back(name, item.value());
    } else if (name.find("norm.weight") != std::string::npos) {
      g.norms.emplace_back(name, item.value());
    } else {
      g.default_group.emplace_back(name, item.value());
    }
  }
  return g;
}

}  // namespace skipbench
