// block.h: one decoder block with an optional per-token gate g in [0, 1] on both sub-layers.
//   sandwich (the paper's, a.k.a. peri-LN):  h = x + g * PostNorm(Attn(PreNorm(x)));  out = h + g * PostNorm(FFN(PreNorm(h)))
//   pre      (Pre-LN):                       h = x + g * Attn(PreNorm(x));            out = h + g * FFN(PreNorm(h))
// With g = 0 a token's residual passes through unchanged; an undefined gate means g = 1 (dense).
// Per-branch gates (forward_branch_gated, the residual_gates variant): each sub-layer gets its own multiplier m,
// asked from the residual entering it, on the branch's output as it re-enters the residual:
//   h = x + m_attn(x) * [PostNorm](Attn(PreNorm(x)));  out = h + m_ffn(h) * [PostNorm](FFN(PreNorm(h)))
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>

#include "harness/config/config.h"
#include "harness/model/attention.h"
#include "harness/model/rmsnorm.h"
#include "harness/model/swiglu.h"

namespace skipbench {

enum class NormScheme { sandwich, pre };

// A sub-layer's multiplier given the residual r [B, T, dim] entering it (branch 0: attention, 1: FFN):
// broadcastable to [B, T, dim] ([B, T, dim] or [B, T, 1]).
using BranchGateFn = std::function<torch::Tensor(int branch, const torch::Tensor& r)>;

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ModelConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                        AttentionGate mode);
  // The same with a ready attention mask (see AttentionImpl::forward_masked); used by hard skip.
  torch::Tensor forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask,
                               const torch::Tensor& gate);

  // Real skipping on packed tokens (hard_skip.cpp): x [1, N, dim] are the active tokens, gate [1, N] theirs;
  // attend(normed x) returns their attention output [1, N, dim]. Returns the block's output for those tokens.
  torch::Tensor forward_packed(const torch::Tensor& x, const torch::Tensor& gate,
                               const std::function<torch::Tensor(const torch::Tensor&)>& attend);

  // Per-branch gates (see the top of this file), attention without a key gate; the soft path of residual_gates.
  torch::Tensor forward_branch_gated(const torch::Tensor& x, const RopeTables& rope, const BranchGateFn& bg);
  // A branch's output as it enters the residual, before its multiplier: [PostNorm](y).
  torch::Tensor post_attention(const torch::Tensor& y);
  torch::Tensor post_feed_forward(const torch::Tensor& y);

  NormScheme scheme;
  template <typename Attend>
  torch::Tensor sublayers(const torch::Tensor& x, const torch::Tensor& gate, Attend&& attend);

  Attention attention{nullptr};
  SwiGLU feed_forward{nullptr};
  RMSNorm pre_attention_norm{nullptr}, post_attention_norm{nullptr};      // post_* only with sandwich
  RMSNorm pre_feed_forward_norm{nullptr}, post_feed_forward_norm{nullptr};
};
TORCH_MODULE(Block);

}  // namespace skipbench
