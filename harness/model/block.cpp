// block.cpp: see block.h.
#include "harness/model/block.h"

#include <torch/torch.h>

#include "harness/model/fused_cpu.h"
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
  // residual + g * PostNorm(y): one fused kernel where it applies (fused_cpu.h); pre-LN: residual + g * y
  auto g = !sandwich && gate.defined() ? gate.unsqueeze(-1).to(x.scalar_type()) : torch::Tensor();
  auto add = [&](const torch::Tensor& res, const torch::Tensor& y, RMSNorm& post) {
    if (sandwich) return fused::gated_residual_norm(res, y, post->weight, gate, post->eps);
    return res + (g.defined() ? g * y : y);
  };
  torch::Tensor h;
  {
    prof::Range r("attention");
    h = add(x, attend(pre_attention_norm(x)), post_attention_norm);
  }
  prof::Range r("ffn");
  return add(h, feed_forward(pre_feed_forward_norm(h)), post_feed_forward_norm);
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                                 AttentionGate mode) {
  return sublayers(x, gate, [&](const torch::Tensor& n) { return attention(n, rope, gate, mode); });
}

torch::Tensor BlockImpl::forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask,
                                        const torch::Tensor& gate) {
  return sublayers(x, gate, [&](const torch::Tensor& n) { return attention->forward_masked(n, rope, mask); });
}

torch::Tensor BlockImpl::forward_packed(const torch::Tensor& x, const torch::Tensor& gate,
                                        const std::function<torch::Tensor(const torch::Tensor&)>& attend) {
  return sublayers(x, gate, attend);
}

torch::Tensor BlockImpl::post_attention(const torch::Tensor& y) {
  return scheme == NormScheme::sandwich ? post_attention_norm(y) : y;
}
torch::Tensor BlockImpl::post_feed_forward(const torch::Tensor& y) {
  return scheme == NormScheme::sandwich ? post_feed_forward_norm(y) : y;
}

torch::Tensor BlockImpl::forward_branch_gated(const torch::Tensor& x, const RopeTables& rope, const BranchGateFn& bg) {
  torch::Tensor h;
  {
    prof::Range r("attention");
    const auto m = bg(0, x);
    h = x + m.to(x.scalar_type()) *
                post_attention(attention(pre_attention_norm(x), rope, torch::Tensor(), AttentionGate::none));
  }
  prof::Range r("ffn");
  const auto m = bg(1, h);
  return h + m.to(h.scalar_type()) * post_feed_forward(feed_forward(pre_feed_forward_norm(h)));
}

}  // namespace skipbench
