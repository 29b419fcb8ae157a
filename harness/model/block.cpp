// block.cpp: see block.h.
#include "harness/model/block.h"

#include <torch/torch.h>

#include "profiling/ranges.h"

namespace skipbench {

BlockImpl::BlockImpl(const ModelConfig& cfg) : scheme(cfg.norm == "pre" ? NormScheme::pre : NormScheme::sandwich) {
  attention = register_module("attention",
                              Attention(cfg.dim, cfg.n_heads, cfg.kv_heads(), parse_attention_kernel(cfg.attention_impl)));
  feed_forward = register_module("feed_forward", SwiGLU(cfg.dim, cfg.hidden()));
  pre_attention_norm = register_module("pre_attention_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  pre_feed_forward_norm = register_module("pre_feed_forward_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  if (scheme == NormScheme::sandwich) {
    post_attention_norm = register_module("post_attention_norm", RMSNorm(cfg.dim, cfg.norm_eps));
    post_feed_forward_norm = register_module("post_feed_forward_norm", RMSNorm(cfg.dim, cfg.norm_eps));
  }
}

// Both sub-layers around a given attention call: x + g*[Post]Norm(Attn([Pre]Norm(x))), then the same for the FFN.
template <typename Attend>
torch::Tensor BlockImpl::sublayers(const torch::Tensor& x, const torch::Tensor& gate, Attend&& attend) {
  const bool sandwich = scheme == NormScheme::sandwich;
  auto g = gate.defined() ? gate.unsqueeze(-1).to(x.scalar_type()) : torch::Tensor();
  auto scaled = [&](torch::Tensor y) { return g.defined() ? g * y : y; };
  torch::Tensor h;
  {
    prof::Range r("attention");
    auto a = attend(pre_attention_norm(x));
    if (sandwich) a = post_attention_norm(a);
    h = x + scaled(a);
  }
  prof::Range r("ffn");
  auto f = feed_forward(pre_feed_forward_norm(h));
  if (sandwich) f = post_feed_forward_norm(f);
  return h + scaled(f);
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                                 AttentionGate mode) {
  return sublayers(x, gate, [&](const torch::Tensor& n) { return attention(n, rope, gate, mode); });
}

torch::Tensor BlockImpl::forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask,
                                        const torch::Tensor& gate) {
  return sublayers(x, gate, [&](const torch::Tensor& n) { return attention->forward_masked(n, rope, mask); });
}

}  // namespace skipbench
