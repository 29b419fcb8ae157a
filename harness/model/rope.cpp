// rope.cpp: see rope.h.
#include "harness/model/rope.h"

#include <torch/torch.h>

#include "harness/model/fused_cpu.h"

namespace skipbench {

RopeTables rope_tables(int64_t seq_len, int64_t head_dim, double theta, const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto i = torch::arange(0, head_dim / 2, opts);
  auto inv_freq = torch::pow(theta, -2.0 * i / static_cast<double>(head_dim));
  auto pos = torch::arange(0, seq_len, opts);
  auto angles = torch::outer(pos, inv_freq);  // [T, hd/2], in fp64 so long sequences keep their phase
  return {angles.cos().to(torch::kFloat32).to(device), angles.sin().to(torch::kFloat32).to(device)};
}

torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& tables, double scale) {
  const auto B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
  // each channel pair (a, b) as the complex number a + ib, rotated by e^{i angle} = cos + i sin: one complex
  // multiply (a c - b s, a s + b c) instead of six real kernels and a stack, forward and backward
  auto xc = torch::view_as_complex(x.to(torch::kFloat32).contiguous().view({B, T, H, D / 2, 2}));
  // tables: [T, D/2] shared by the batch, or [B, T, D/2] per sequence (gathered positions)
  const auto TB = tables.cos.dim() == 3 ? B : 1;
  auto c = tables.cos.slice(-2, 0, T), s = tables.sin.slice(-2, 0, T);
  if (scale != 1.0) c = c * scale, s = s * scale;  // [T, D/2]: cheap next to x
  auto cis = torch::complex(c, s).reshape({TB, T, 1, D / 2});
  return torch::view_as_real(xc * cis).view({B, T, H, D}).to(x.scalar_type());
}

torch::Tensor apply_rope_heads(const torch::Tensor& x, const RopeTables& tables, double scale) {
  const auto T = x.size(1);
  auto c = tables.cos.slice(-2, 0, T), s = tables.sin.slice(-2, 0, T);
  if (fused::rope_applies(x, c, s)) {
    if (scale != 1.0) c = c * scale, s = s * scale;  // as apply_rope: the scale folded into the tables, in fp32
    return fused::rope_heads(x, c, s);
  }
  return apply_rope(x, tables, scale).transpose(1, 2);
}

}  // namespace skipbench
