// rope.h: rotary position embedding (Su et al. 2024), Llama's interleaved-pair ("complex") form: channel pairs
// (2i, 2i+1) of each head rotate by angle pos * theta^(-2i/head_dim). Applied in fp32, cast back.
#pragma once
#include <torch/types.h>

namespace skipbench {

struct RopeTables {
  torch::Tensor cos, sin;  // [T, head_dim/2], fp32
};

// Tables for positions 0..seq_len-1.
RopeTables rope_tables(int64_t seq_len, int64_t head_dim, double theta, const torch::Device& device);

// x: [B, T, H, head_dim]; row t of x uses row t of the tables, which are [T, hd/2] for the whole batch or
// [B, T, hd/2] per sequence (gathered rows keep tokens at their original positions).
// scale multiplies the result (folded into the rotation: no extra pass).
torch::Tensor apply_rope(const torch::Tensor& x, const RopeTables& tables, double scale = 1.0);

// The same, written head-major for attention: x [B, T, H, head_dim] -> [B, H, T, head_dim] (= apply_rope(...)
// .transpose(1, 2) in value). On a CPU in fp32 one fused pass with a contiguous result (fused_cpu.h).
torch::Tensor apply_rope_heads(const torch::Tensor& x, const RopeTables& tables, double scale = 1.0);

}  // namespace skipbench
