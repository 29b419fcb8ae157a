// attention.cpp: see attention.h. The math path: scores = q k^T / sqrt(d_h) + causal mask + gate bias, softmax in
// fp32, then P v. Readable and exact on CPU; a fused GPU path comes with the CUDA work.
#include "harness/model/attention.h"

#include <ATen/Context.h>
#include <ATen/SDPBackend.h>
#include <ATen/ops/_fused_sdp_choice.h>
#include <torch/torch.h>

#include <cmath>

#include "harness/common/error.h"
#include "harness/model/fused_cpu.h"

namespace skipbench {

AttentionGate parse_attention_gate(const std::string& s) {
  if (s == "key") return AttentionGate::key;
  if (s == "none") return AttentionGate::none;
  if (s == "reference") return AttentionGate::reference;
  throw Error("attention_gate: unknown value '" + s + "' (choose key, none or reference)");
}

const char* to_string(AttentionGate g) {
  switch (g) {
    case AttentionGate::none: return "none";
    case AttentionGate::key: return "key";
    case AttentionGate::reference: return "reference";
  }
  return "?";
}

AttentionKernel parse_attention_kernel(const std::string& s) {
  if (s == "math") return AttentionKernel::math;
  if (s == "sdpa") return AttentionKernel::sdpa;
  if (s == "sdpa_mask") return AttentionKernel::sdpa_mask;
  throw Error("model.attention_impl: unknown value '" + s + "' (choose math, sdpa or sdpa_mask)");
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t nh, int64_t nkv, AttentionKernel k)
    : n_heads(nh), n_kv_heads(nkv), head_dim(dim / nh), kernel(k) {
  using torch::nn::LinearOptions;
  wq = register_module("wq", torch::nn::Linear(LinearOptions(dim, nh * head_dim).bias(false)));
  wk = register_module("wk", torch::nn::Linear(LinearOptions(dim, nkv * head_dim).bias(false)));
  wv = register_module("wv", torch::nn::Linear(LinearOptions(dim, nkv * head_dim).bias(false)));
  wo = register_module("wo", torch::nn::Linear(LinearOptions(nh * head_dim, dim).bias(false)));
}

torch::Tensor attention_gate_bias(const torch::Tensor& gate, AttentionGate mode) {
  if (!gate.defined() || mode == AttentionGate::none) return {};
  auto lg = torch::log(gate.to(torch::kFloat32).clamp(kGateLogFloor, 1.0));  // [B, T]
  const auto B = gate.size(0), T = gate.size(1);
  if (mode == AttentionGate::key) return lg.view({B, 1, 1, T});  // same for every query i, varies with key j
  return lg.view({B, 1, T, 1});                                  // reference: varies with the query i only
}

torch::Tensor attention_mask(int64_t T, const torch::Tensor& gate, AttentionGate mode, const torch::Device& device) {
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto mask = torch::full({T, T}, -std::numeric_limits<float>::infinity(), opts).triu(1).view({1, 1, T, T});
  auto bias = attention_gate_bias(gate, mode);
  return bias.defined() ? mask + bias : mask;
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                                     AttentionGate mode) {
  if (kernel == AttentionKernel::math) return forward_math(x, rope, gate, mode);
  auto [q, k, v] = project_qkv(x, rope);
  torch::Tensor out;  // [B, H, T, hd]
  if (!gate.defined() || mode != AttentionGate::key)  // none, or reference (constant per query row: softmax cancels it)
    out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true, 1.0 / std::sqrt(double(head_dim)));
  else
    out = kernel == AttentionKernel::sdpa ? sdpa_folded(q, k, v, gate) : sdpa_masked(q, k, v, gate);
  return wo(out.transpose(1, 2).reshape({x.size(0), x.size(1), n_heads * head_dim}));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> AttentionImpl::project_qkv(const torch::Tensor& x,
                                                                                   const RopeTables& rope,
                                                                                   double q_scale) {
  const auto B = x.size(0), T = x.size(1);
  torch::Tensor xq, xk, xv;
  if (fused::applies(x)) {  // one [dim -> (H + 2 Hkv) hd] product; its backward is one product for x, too
    auto qkv = torch::nn::functional::linear(x, torch::cat({wq->weight, wk->weight, wv->weight}));
    auto parts = qkv.split_with_sizes({n_heads * head_dim, n_kv_heads * head_dim, n_kv_heads * head_dim}, -1);
    xq = parts[0], xk = parts[1], xv = parts[2];
  } else {
    xq = wq(x), xk = wk(x), xv = wv(x);
  }
  auto q = apply_rope_heads(xq.reshape({B, T, n_heads, head_dim}), rope, q_scale);  // [B, H, T, hd]
  auto k = apply_rope_heads(xk.reshape({B, T, n_kv_heads, head_dim}), rope);        // [B, Hkv, T, hd]
  auto v = xv.reshape({B, T, n_kv_heads, head_dim}).transpose(1, 2);
  if (n_kv_heads != n_heads) {  // grouped-query attention: each kv head serves n_heads / n_kv_heads query heads
    const auto rep = n_heads / n_kv_heads;
    k = k.repeat_interleave(rep, 1);
    v = v.repeat_interleave(rep, 1);
  }
  return {q, k, v};
}

torch::Tensor AttentionImpl::sdpa_folded(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& gate) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const auto B = q.size(0), H = q.size(1), T = q.size(2);
  const int64_t padded = (head_dim + 1 + 7) / 8 * 8;  // room for the bias channel, kernels like multiples of 8
  const int64_t extra = padded - head_dim;
  auto bias = torch::log(gate.to(torch::kFloat32).clamp(kGateLogFloor, 1.0)) / scale;  // [B, T]
  auto opts = q.options();
  auto q1 = torch::cat({q, torch::ones({B, H, T, 1}, opts), torch::zeros({B, H, T, extra - 1}, opts)}, -1);
  auto k1 = torch::cat({k, bias.to(k.scalar_type()).view({B, 1, T, 1}).expand({B, H, T, 1}),
                        torch::zeros({B, H, T, extra - 1}, opts)}, -1);
  auto v1 = torch::cat({v, torch::zeros({B, H, T, extra}, opts)}, -1);
  auto out = at::scaled_dot_product_attention(q1, k1, v1, {}, 0.0, /*is_causal=*/true, scale);
  return out.slice(-1, 0, head_dim);
}

void set_sdpa_backend(const std::string& name) {
  if (name != "auto" && name != "flash" && name != "efficient" && name != "cudnn" && name != "math")
    throw Error("train.sdpa_backend: unknown value '" + name + "' (choose auto, flash, efficient, cudnn or math)");
  auto& ctx = at::globalContext();
  const bool all = name == "auto";
  ctx.setSDPUseFlash(all || name == "flash");
  ctx.setSDPUseMemEfficient(all || name == "efficient");
  ctx.setSDPUseCuDNN(all || name == "cudnn");
  ctx.setSDPUseMath(all || name == "math");
}

std::string sdpa_kernel_choice(AttentionKernel kernel, int64_t H, int64_t hd, int64_t T, bool key_gate,
                               const torch::Device& device, torch::ScalarType dtype) {
  if (kernel == AttentionKernel::math) return "none (math path)";
  const bool folded = kernel == AttentionKernel::sdpa && key_gate;
  const int64_t d = folded ? (hd + 1 + 7) / 8 * 8 : hd;
  auto opts = torch::TensorOptions().dtype(dtype).device(device).requires_grad(true);
  auto q = torch::zeros({1, H, T, d}, opts), k = torch::zeros({1, H, T, d}, opts), v = torch::zeros({1, H, T, d}, opts);
  std::optional<at::Tensor> mask;
  if (kernel == AttentionKernel::sdpa_mask && key_gate) mask = torch::zeros({1, 1, T, T}, opts);
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  int64_t c = -1;
  try {
    c = at::_fused_sdp_choice(q, k, v, mask, 0.0, /*is_causal=*/!mask.has_value(), scale);
  } catch (const c10::Error&) {
    return "error";  // no allowed kernel accepts these inputs
  }
  switch (static_cast<at::SDPBackend>(c)) {
    case at::SDPBackend::math: return "math";
    case at::SDPBackend::flash_attention: return "flash_attention";
    case at::SDPBackend::efficient_attention: return "efficient_attention";
    case at::SDPBackend::cudnn_attention: return "cudnn_attention";
    case at::SDPBackend::overrideable: return "overrideable";
    default: return "error";
  }
}

torch::Tensor AttentionImpl::sdpa_masked(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         const torch::Tensor& gate) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  // [B, 1, T, T]: causal -inf and ln(g_j); the kernels want the mask in q's dtype (bf16 under autocast)
  auto mask = attention_mask(q.size(2), gate, AttentionGate::key, q.device()).to(q.scalar_type());
  return at::scaled_dot_product_attention(q, k, v, mask, 0.0, /*is_causal=*/false, scale);
}

torch::Tensor AttentionImpl::forward_math(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                                       AttentionGate mode) {
  const auto T = x.size(1);
  auto [scores, v] = scaled_scores(x, rope);
  if (gate.defined() && mode == AttentionGate::key) return attend(x, scores.add_(attention_mask(T, gate, mode, x.device())), v);
  // none, or reference: its query-indexed term ln g_i is constant along each softmax row and cancels, so it is
  // left out (the same function; its gradient is exactly 0 instead of rounding noise), and the causal mask is
  // a constant without a gradient, made once per length (no per-layer mask, no reductions in the backward)
  if (!causal_.defined() || causal_.size(-1) != T || causal_.device() != x.device())
    causal_ = attention_mask(T, torch::Tensor(), AttentionGate::none, x.device());
  return attend(x, scores.add_(causal_), v);
}

std::pair<torch::Tensor, torch::Tensor> AttentionImpl::scaled_scores(const torch::Tensor& x, const RopeTables& rope) {
  auto [q, k, v] = project_qkv(x, rope, 1.0 / std::sqrt(static_cast<double>(head_dim)));  // q / sqrt(hd)
  return {torch::matmul(q, k.transpose(-2, -1)).to(torch::kFloat32), v};
}

// Masks are added in place: the product's backward needs q and k, not the scores.
torch::Tensor AttentionImpl::attend(const torch::Tensor& x, const torch::Tensor& masked_scores, const torch::Tensor& v) {
  auto probs = torch::softmax(masked_scores, -1);
  if (keep_probs) last_probs = probs.detach();
  auto out = torch::matmul(probs.to(v.scalar_type()), v);  // [B, H, T, hd]
  return wo(out.transpose(1, 2).reshape({x.size(0), x.size(1), n_heads * head_dim}));
}

torch::Tensor AttentionImpl::forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask) {
  auto [scores, v] = scaled_scores(x, rope);
  return attend(x, scores.add_(mask), v);
}

torch::Tensor AttentionImpl::forward_packed(const torch::Tensor& xq, const RopeTables& rope_q, const torch::Tensor& q_pos,
                                            const std::vector<int64_t>& counts, const torch::Tensor& key_bias,
                                            const torch::Tensor& x_all, const RopeTables& rope_all,
                                            const std::vector<int64_t>& key_len) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const auto N = xq.size(1);
  const float inf = std::numeric_limits<float>::infinity();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(xq.device());
  torch::Tensor q, k, v;  // q [1, H, N, hd]; k, v [1, H, N, hd] (active keys) or [B, H, T, hd] (every key)
  if (!x_all.defined()) {
    std::tie(q, k, v) = project_qkv(xq, rope_q, scale);
  } else {
    const auto B = x_all.size(0), T = x_all.size(1);
    q = apply_rope_heads(wq(xq).reshape({1, N, n_heads, head_dim}), rope_q, scale);
    k = apply_rope_heads(wk(x_all).reshape({B, T, n_kv_heads, head_dim}), rope_all);
    v = wv(x_all).reshape({B, T, n_kv_heads, head_dim}).transpose(1, 2);
    if (n_kv_heads != n_heads) {
      k = k.repeat_interleave(n_heads / n_kv_heads, 1);
      v = v.repeat_interleave(n_heads / n_kv_heads, 1);
    }
  }
  std::vector<torch::Tensor> outs;
  int64_t off = 0;
  for (size_t b = 0; b < counts.size(); ++b) {
    const int64_t n = counts[b];
    if (n == 0) continue;
    auto qb = q.narrow(2, off, n);  // [1, H, n, hd]
    torch::Tensor kb, vb, mask;
    if (!x_all.defined()) {
      kb = k.narrow(2, off, n), vb = v.narrow(2, off, n);
      mask = torch::full({n, n}, -inf, f32).triu(1);  // packed order is position order within a sequence
      if (key_bias.defined()) mask = mask + key_bias.narrow(0, off, n).to(torch::kFloat32).view({1, n});
    } else {
      const int64_t m = key_len[b];  // keys 0 .. m-1: up to the last active query's position
      kb = k[static_cast<int64_t>(b)].narrow(1, 0, m).unsqueeze(0), vb = v[static_cast<int64_t>(b)].narrow(1, 0, m).unsqueeze(0);
      auto later = torch::arange(m, q_pos.options()).view({1, m}) > q_pos.narrow(0, off, n).view({n, 1});
      mask = torch::zeros({n, m}, f32).masked_fill(later, -inf);
    }
    auto scores = torch::matmul(qb, kb.transpose(-2, -1)).to(torch::kFloat32);
    scores.add_(mask);
    outs.push_back(torch::matmul(torch::softmax(scores, -1).to(vb.scalar_type()), vb));
    off += n;
  }
  auto out = torch::cat(outs, 2);  // [1, H, N, hd]
  return wo(out.transpose(1, 2).reshape({1, N, n_heads * head_dim}));
}

}  // namespace skipbench
