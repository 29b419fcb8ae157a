// block.cpp: see block.h.
#include "harness/model/block.h"

#include <torch/torch.h>

#include "profiling/ranges.h"

namespace skipbench {

BlockImpl::BlockImpl(const ModelConfig& cfg) : scheme(cfg.norm == "pre" ? NormScheme::pre : NormScheme::sandwich) {
  attention = register_module("attention", Attention(cfg.dim, cfg.n_heads, cfg.kv_heads()));
  feed_forward = register_module("feed_forward", SwiGLU(cfg.dim, cfg.hidden()));
  pre_attention_norm = register_module("pre_attention_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  pre_feed_forward_norm = register_module("pre_feed_forward_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  if (scheme == NormScheme::sandwich) {
    post_attention_norm = register_module("post_attention_norm", RMSNorm(cfg.dim, cfg.norm_eps));
    post_feed_forward_norm = register_module("post_feed_forward_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  }
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                                 AttentionGate mode) {
  return forward_masked(x, rope, attention_mask(x.size(1), gate, mode, x.device()), gate);
}

torch::Tensor BlockImpl::forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask,
                                        const torch::Tensor& gate) {
  const bool sandwich = scheme == NormScheme::sandwich;
  auto g = gate.defined() ? gate.unsqueeze(-1).to(x.scalar_type()) : torch::Tensor();
  auto scaled = [&](torch::Tensor y) { return g.defined() ? g * y : y; };

  torch::Tensor h;
  {
    prof::Range r("attention");
    auto a = attention->forward_masked(pre_attention_norm(x), rope, mask);
    if (sandwich) a = post_attention_norm(a);
    h = x + scaled(a);
  }
  prof::Range r("ffn");
  auto f = feed_forward(pre_feed_forward_norm(h));
  if (sandwich) f = post_feed_forward_norm(f);
  return h + scaled(f);
}

}  // namespace skipbench
