// skip_middle.h: the `skip_middle` variant of Lawson & Aitchison (arXiv 2506.21103).
// For each block l < L/2 a soft mask s_l = ReLU(w_l . h_l + b_l) is read off the residual h_l entering block l;
// S_l = s_0 + ... + s_l accumulates them and g_l = 1 - clamp(S_l, 0, 1) gates block l; block L-1-l reuses g_l.
// So once a token's gate reaches 0 at block l it skips blocks l .. L-1-l: the middle, symmetrically.
#pragma once
#include <torch/nn/modules/container/modulelist.h>

#include <vector>

#include "harness/model/transformer.h"

namespace skipbench {

// The gate algebra on its own: given the first-half soft masks s_0..s_{L/2-1} ([B, T] each), returns all L gates.
std::vector<torch::Tensor> skip_middle_gates(const std::vector<torch::Tensor>& soft_masks, int64_t n_layers);

class SkipMiddleGates : public GatePolicy {
 public:
  // gate_dtype: the precision of s, S and g (kFloat32, or kBFloat16 as the released code computes them under
  // autocast: there S >= ~0.998 rounds to 1, so g is exactly 0 and the token counts as skipped). The gates are
  // returned in fp32 either way.
  SkipMiddleGates(int64_t dim, int64_t n_layers, AttentionGate attention_gate,
                  torch::ScalarType gate_dtype = torch::kFloat32);
  void begin(int64_t batch, int64_t seq_len) override;
  torch::Tensor gate(int64_t layer, const torch::Tensor& h, ForwardOutput& out) override;
  AttentionGate attention_gate() const override { return attention_gate_; }
  void zero_masks();  // w = 0, b = 0: ReLU(0) has zero gradient, so every gate stays 1 (the code's baselines)

  torch::nn::ModuleList masks{nullptr};  // L/2 Linear(dim, 1) with bias

 private:
  int64_t n_layers_;
  AttentionGate attention_gate_;
  torch::ScalarType gate_dtype_;
  std::vector<torch::Tensor> first_half_;  // gates of this forward, for mirroring
  torch::Tensor running_;                  // S of the latest first-half block
};

}  // namespace skipbench
