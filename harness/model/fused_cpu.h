// fused_cpu.h: fused CPU kernels (with their own backward) for the elementwise parts of a block, which on a CPU
// cost as much as the matrix products around them when each is a separate ATen kernel with its own pass over
// memory (measured: RMSNorm, the gated residual and SwiGLU were a third of the step at the tiny shape):
//   rms_norm(x, w)                      y = x / sqrt(mean(x^2) + eps) * w
//   gated_residual_norm(x, a, w, g)     h = x + g * rms_norm(a, w)        (sandwich post-norm, gate, residual)
//   swiglu(a, b)                        y = silu(a) * b
//   rope_heads(x, cos, sin)             RoPE, written head-major ([B, T, H, D] -> [B, H, T, D])
// One pass forward and one backward each, parallel over rows (tokens), vectorised for the CPU it runs on
// (AVX-512, AVX2 or baseline, chosen at run time). Weight gradients are reduced in fixed row chunks in a fixed
// order, so results do not depend on the thread count and runs stay bit-identical.
// They apply to contiguous fp32 CPU tensors; anything else (CUDA, bf16 autocast, strided views) takes the
// composite ATen path these functions also implement, which is the reference the tests compare them with.
#pragma once
#include <torch/types.h>

namespace skipbench::fused {

// Whether the fused kernels are used for these tensors (CPU, fp32, contiguous) and enabled (set_enabled).
bool applies(const torch::Tensor& x);
// Tests and benchmarks: turn the fused kernels off (the composite path everywhere). Default on; the environment
// variable SKIPBENCH_FUSED_CPU=0 starts a process with them off (A/B measurements).
void set_enabled(bool on);
bool enabled();

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);
// gate: [..] one value per row of a (per token), or undefined (gate 1)
torch::Tensor gated_residual_norm(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& weight,
                                  const torch::Tensor& gate, double eps);
torch::Tensor swiglu(const torch::Tensor& a, const torch::Tensor& b);
// RoPE written head-major: x [B, T, H, D] (a strided view of the QKV product is fine, unit stride on D) rotated
// by the pair tables cos, sin ([T, D/2] contiguous, any scale already folded in) -> [B, H, T, D] contiguous, in
// one pass (no complex temporaries, no transpose copies for the attention products). The composite path is
// apply_rope(...).transpose(1, 2) (rope.h), which takes over where rope_applies is false.
bool rope_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);
torch::Tensor rope_heads(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

}  // namespace skipbench::fused
