// fused_cpu.cpp: see fused_cpu.h. Row kernels (one token's channels at a time, in cache), compiled for AVX-512,
// AVX2 and the baseline ISA (GCC target_clones: the loader picks one for the CPU), wrapped in autograd functions.
#include "harness/model/fused_cpu.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <cmath>

namespace skipbench::fused {

namespace {
bool from_env() {
  const char* e = std::getenv("SKIPBENCH_FUSED_CPU");
  return !(e && std::string(e) == "0");
}
std::atomic<bool> g_enabled{from_env()};

constexpr int64_t kChunk = 64;  // rows per weight-gradient partial sum: fixed, so the sum order never changes
constexpr int64_t kGrain = 16;  // rows per parallel task at least

#define SB_KERNEL __attribute__((target_clones("avx512f", "avx2", "default"))) static

// y = x * r * w with r = 1 / sqrt(mean(x^2) + eps); optionally h = res + gate * y instead of y.
SB_KERNEL void norm_rows(const float* x, const float* w, const float* res, const float* gate, float* out, float* r,
                         int64_t rows, int64_t D, float eps) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* xi = x + i * D;
    float ss = 0;
#pragma omp simd reduction(+ : ss)
    for (int64_t j = 0; j < D; ++j) ss += xi[j] * xi[j];
    const float ri = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
    r[i] = ri;
    float* oi = out + i * D;
    if (res) {
      const float* hi = res + i * D;
      const float gi = gate ? gate[i] : 1.0f;
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) oi[j] = hi[j] + gi * (xi[j] * ri * w[j]);
    } else {
#pragma omp simd
      for (int64_t j = 0; j < D; ++j) oi[j] = xi[j] * ri * w[j];
    }
  }
}

// Backward of y = x * r * w, with dy = gate * dout (gate null: 1). dx = r * (w dy - x r^2 S / D), S = sum w dy x;
// dw += dy x r (into this chunk's partial); dgate = sum dout * y when dgate is given.
SB_KERNEL void norm_back_rows(const float* dout, const float* x, const float* w, const float* r, const float* gate,
                              float* dx, float* dw, float* dgate, int64_t rows, int64_t D) {
  for (int64_t i = 0; i < rows; ++i) {
    const float* di = dout + i * D;
    const float* xi = x + i * D;
    const float ri = r[i], gi = gate ? gate[i] : 1.0f;
    float s = 0, dg = 0;
#pragma omp simd reduction(+ : s, dg)
    for (int64_t j = 0; j < D; ++j) {
      const float wx = w[j] * xi[j];
      s += di[j] * wx;
      dg += di[j] * wx * ri;
    }
    s *= gi;  // S over dy = gate * dout
    if (dgate) dgate[i] = dg;
    const float c = ri * ri * s / static_cast<float>(D);
    float* xo = dx + i * D;
#pragma omp simd
    for (int64_t j = 0; j < D; ++j) {
      const float dy = gi * di[j];
      xo[j] = ri * (w[j] * dy - xi[j] * c);
      dw[j] += dy * xi[j] * ri;
    }
  }
}

SB_KERNEL void swiglu_rows(const float* a, const float* b, const float* s, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = a[i] * s[i] * b[i];
}

// d/da [a s(a) b] = b s (1 + a (1 - s)); d/db = a s
SB_KERNEL void swiglu_back_rows(const float* dy, const float* a, const float* b, const float* s, float* da, float* db,
                                int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float si = s[i];
    da[i] = dy[i] * b[i] * si * (1.0f + a[i] * (1.0f - si));
    db[i] = dy[i] * a[i] * si;
  }
}

// RoPE on one token's heads, written head-major: o[h * ho] = rotate(x[h * hx], angle) for h < H, each head's
// channel pairs (2i, 2i+1) rotated by (c_i, s_i) (the tables, the softmax scale folded in). inverse: the transpose
// rotation (c, -s), the backward.
SB_KERNEL void rope_row(const float* x, int64_t hx, const float* c, const float* s, float* o, int64_t ho, int64_t H,
                        int64_t half, bool inverse) {
  const float sign = inverse ? -1.0f : 1.0f;
  for (int64_t h = 0; h < H; ++h) {
    const float* xi = x + h * hx;
    float* oi = o + h * ho;
#pragma omp simd
    for (int64_t i = 0; i < half; ++i) {
      const float a = xi[2 * i], b = xi[2 * i + 1], si = sign * s[i];
      oi[2 * i] = a * c[i] - b * si;
      oi[2 * i + 1] = a * si + b * c[i];
    }
  }
}

// Autograd functions take no undefined tensors: an absent residual or gate is passed as an empty tensor.
const float* ptr_or_null(const torch::Tensor& t) { return t.numel() > 0 ? t.data_ptr<float>() : nullptr; }
torch::Tensor or_empty(const torch::Tensor& t) { return t.defined() ? t : torch::empty({0}, torch::kFloat32); }

// Runs a row kernel over every row in parallel; with dw, each kChunk-row chunk accumulates into its own partial
// and the partials are summed in chunk order afterwards (deterministic whatever the thread count).
template <typename F>
torch::Tensor for_rows(int64_t rows, int64_t D, bool want_dw, F&& kernel) {
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
  torch::Tensor partial = want_dw ? torch::zeros({chunks, D}, torch::kFloat32) : torch::Tensor();
  float* pp = want_dw ? partial.data_ptr<float>() : nullptr;
  at::parallel_for(0, chunks, std::max<int64_t>(1, kGrain / kChunk), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * kChunk, n = std::min(kChunk, rows - r0);
      kernel(r0, n, pp ? pp + c * D : nullptr);
    }
  });
  if (!want_dw) return {};
  // column sums of the partials in chunk order
  auto dw = torch::zeros({D}, torch::kFloat32);
  float* o = dw.data_ptr<float>();
  for (int64_t c = 0; c < chunks; ++c)
    for (int64_t j = 0; j < D; ++j) o[j] += pp[c * D + j];
  return dw;
}

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct NormFn : public torch::autograd::Function<NormFn> {
  // res and gate empty: plain RMSNorm; res given: res + gate * norm (gate empty: 1)
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& w,
                               const torch::Tensor& res, const torch::Tensor& gate, double eps) {
    const int64_t D = x.size(-1), rows = x.numel() / D;
    auto out = torch::empty_like(x);
    auto r = torch::empty({rows}, x.options());
    const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(), *hp = ptr_or_null(res), *gp = ptr_or_null(gate);
    float *op = out.data_ptr<float>(), *rp = r.data_ptr<float>();
    for_rows(rows, D, false, [&](int64_t r0, int64_t n, float*) {
      norm_rows(xp + r0 * D, wp, hp ? hp + r0 * D : nullptr, gp ? gp + r0 : nullptr, op + r0 * D, rp + r0, n, D,
                static_cast<float>(eps));
    });
    ctx->save_for_backward({x, w, r, gate});
    ctx->saved_data["residual"] = res.numel() > 0;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &w = saved[1], &r = saved[2], &gate = saved[3];
    const bool residual = ctx->saved_data["residual"].toBool();
    auto dout = grads[0].contiguous();
    const int64_t D = x.size(-1), rows = x.numel() / D;
    auto dx = torch::empty_like(x);
    const bool want_dg = residual && gate.numel() > 0 && ctx->needs_input_grad(3);
    auto dg = want_dg ? torch::empty_like(gate) : torch::Tensor();
    const float *dp = dout.data_ptr<float>(), *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(),
                *rp = r.data_ptr<float>(), *gp = ptr_or_null(gate);
    float *xo = dx.data_ptr<float>(), *go = want_dg ? dg.data_ptr<float>() : nullptr;
    auto dw = for_rows(rows, D, true, [&](int64_t r0, int64_t n, float* dwp) {
      norm_back_rows(dp + r0 * D, xp + r0 * D, wp, rp + r0, gp ? gp + r0 : nullptr, xo + r0 * D, dwp,
                     go ? go + r0 : nullptr, n, D);
    });
    // inputs: x (the normalised input), w, res, gate, eps
    return {dx, dw, residual ? dout : torch::Tensor(), dg, torch::Tensor()};
  }
};

struct SwigluFn : public torch::autograd::Function<SwigluFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    auto s = torch::sigmoid(a);  // ATen's vectorised exp
    auto y = torch::empty_like(a);
    const float *ap = a.data_ptr<float>(), *bp = b.data_ptr<float>(), *sp = s.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const int64_t n = a.numel();
    at::parallel_for(0, n, 4096, [&](int64_t i0, int64_t i1) { swiglu_rows(ap + i0, bp + i0, sp + i0, yp + i0, i1 - i0); });
    ctx->save_for_backward({a, b, s});
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto dy = grads[0].contiguous();
    auto da = torch::empty_like(saved[0]), db = torch::empty_like(saved[1]);
    const float *dp = dy.data_ptr<float>(), *ap = saved[0].data_ptr<float>(), *bp = saved[1].data_ptr<float>(),
                *sp = saved[2].data_ptr<float>();
    float *dap = da.data_ptr<float>(), *dbp = db.data_ptr<float>();
    at::parallel_for(0, dy.numel(), 4096, [&](int64_t i0, int64_t i1) {
      swiglu_back_rows(dp + i0, ap + i0, bp + i0, sp + i0, dap + i0, dbp + i0, i1 - i0);
    });
    return {da, db};
  }
};

// x [B, T, H, D] (any strides, unit stride on D) -> [B, H, T, D] contiguous, rotated; c, s [T, D/2] contiguous.
struct RopeFn : public torch::autograd::Function<RopeFn> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& c,
                               const torch::Tensor& s) {
    const int64_t B = x.size(0), T = x.size(1), H = x.size(2), D = x.size(3);
    auto out = torch::empty({B, H, T, D}, x.options());
    const float *xp = x.data_ptr<float>(), *cp = c.data_ptr<float>(), *sp = s.data_ptr<float>();
    float* op = out.data_ptr<float>();
    const int64_t sb = x.stride(0), st = x.stride(1), sh = x.stride(2);
    at::parallel_for(0, B * T, kGrain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / T, t = r % T;
        rope_row(xp + b * sb + t * st, sh, cp + t * (D / 2), sp + t * (D / 2), op + (b * H * T + t) * D, T * D, H,
                 D / 2, false);
      }
    });
    ctx->save_for_backward({c, s});
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &c = saved[0], &s = saved[1];
    auto g = grads[0].contiguous();  // [B, H, T, D]
    const int64_t B = g.size(0), H = g.size(1), T = g.size(2), D = g.size(3);
    auto dx = torch::empty({B, T, H, D}, g.options());
    const float *gp = g.data_ptr<float>(), *cp = c.data_ptr<float>(), *sp = s.data_ptr<float>();
    float* dp = dx.data_ptr<float>();
    at::parallel_for(0, B * T, kGrain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t b = r / T, t = r % T;
        rope_row(gp + (b * H * T + t) * D, T * D, cp + t * (D / 2), sp + t * (D / 2), dp + r * H * D, D, H, D / 2,
                 true);
      }
    });
    return {dx, torch::Tensor(), torch::Tensor()};
  }
};

bool fits(const torch::Tensor& t) {
  return !t.defined() || (t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous());
}

torch::Tensor composite_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  auto xf = x.to(torch::kFloat32);
  auto y = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return y.to(x.scalar_type()) * w;
}
}  // namespace

void set_enabled(bool on) { g_enabled = on; }
bool enabled() { return g_enabled; }
bool applies(const torch::Tensor& x) { return g_enabled && x.defined() && fits(x); }

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& w, double eps) {
  if (applies(x) && fits(w)) return NormFn::apply(x, w, or_empty({}), or_empty({}), eps);
  return composite_norm(x, w, eps);
}

torch::Tensor gated_residual_norm(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& w,
                                  const torch::Tensor& gate, double eps) {
  auto g = gate.defined() ? gate.reshape(a.sizes().slice(0, a.dim() - 1)) : gate;  // one per row
  if (applies(a) && applies(x) && fits(w) && fits(g) && x.sizes() == a.sizes())
    return NormFn::apply(a, w, x, or_empty(g), eps);
  auto y = composite_norm(a, w, eps);
  return x + (g.defined() ? g.unsqueeze(-1).to(y.scalar_type()) * y : y);
}

bool rope_applies(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  return g_enabled && x.defined() && x.dim() == 4 && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
         x.stride(3) == 1 && x.size(3) % 2 == 0 && cos.dim() == 2 && cos.size(0) == x.size(1) &&
         cos.size(1) * 2 == x.size(3) && fits(cos) && fits(sin) && cos.sizes() == sin.sizes();
}

torch::Tensor rope_heads(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  TORCH_CHECK(rope_applies(x, cos, sin), "fused::rope_heads: inputs it does not take (check rope_applies first)");
  return RopeFn::apply(x, cos, sin);
}

torch::Tensor swiglu(const torch::Tensor& a, const torch::Tensor& b) {
  if (applies(a) && applies(b) && a.sizes() == b.sizes()) return SwigluFn::apply(a, b);
  return torch::silu(a) * b;
}

}  // namespace skipbench::fused
