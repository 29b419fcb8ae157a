// test_fused_cpu.cpp: the fused CPU kernels (harness/model/fused_cpu.h) against hand-computed values and against
// the composite ATen path they replace (values and every gradient), their invariants (a zero gate passes the
// residual through exactly), thread-count independence of the weight gradients, the fallback for inputs they do
// not take, and a whole model's forward and backward with them on and off.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/model/fused_cpu.h"
#include "harness/model/rope.h"
#include "harness/registry/variant_registry.h"
#include "tests/test_util.h"

using namespace skipbench;

namespace {
struct FusedOff {  // the composite path for the lifetime of the object
  FusedOff() { fused::set_enabled(false); }
  ~FusedOff() { fused::set_enabled(true); }
};

// Value and gradients of f(inputs) . upstream, with the fused kernels on or off.
std::vector<torch::Tensor> run(bool fused_on, const std::function<torch::Tensor(std::vector<torch::Tensor>&)>& f,
                               const std::vector<torch::Tensor>& inputs, const torch::Tensor& upstream) {
  fused::set_enabled(fused_on);
  std::vector<torch::Tensor> xs;
  for (const auto& x : inputs) xs.push_back(x.detach().clone().requires_grad_(true));
  auto y = f(xs);
  y.backward(upstream);
  fused::set_enabled(true);
  std::vector<torch::Tensor> out{y.detach()};
  for (auto& x : xs) out.push_back(x.grad());
  return out;
}

void expect_same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b, double tol,
                 const char* what) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_TRUE(a[i].defined() && b[i].defined()) << what << " output " << i;
    const double err = (a[i] - b[i]).abs().max().item<double>();
    const double scale = std::max(1.0, b[i].abs().max().item<double>());
    EXPECT_LT(err / scale, tol) << what << ": output " << i << " (0 = value, then the inputs' gradients)";
  }
}
}  // namespace

TEST(FusedCpu, RmsNormMatchesHandComputedValues) {
  // x = (3, 4): mean of squares 12.5, r = 1/sqrt(12.5 + eps); w = (1, 2)
  auto x = torch::tensor({{3.0f, 4.0f}}), w = torch::tensor({1.0f, 2.0f});
  ASSERT_TRUE(fused::applies(x));
  auto y = fused::rms_norm(x, w, 0.0);
  const float r = 1.0f / std::sqrt(12.5f);
  EXPECT_NEAR(y[0][0].item<float>(), 3 * r, 1e-6);
  EXPECT_NEAR(y[0][1].item<float>(), 8 * r, 1e-6);
}

TEST(FusedCpu, EachKernelEqualsTheCompositePathInValueAndGradients) {
  torch::manual_seed(0);
  const auto B = 3, T = 37, D = 40;  // rows not a multiple of the 64-row chunk, D not a multiple of 16
  auto x = torch::randn({B, T, D}), a = torch::randn({B, T, D}) * 3, w = torch::rand({D}) + 0.5;
  auto g = torch::rand({B, T}), up = torch::randn({B, T, D});
  auto norm = [](std::vector<torch::Tensor>& v) { return fused::rms_norm(v[0], v[1], 1e-5); };
  expect_same(run(true, norm, {a, w}, up), run(false, norm, {a, w}, up), 2e-6, "rms_norm");
  auto gated = [](std::vector<torch::Tensor>& v) { return fused::gated_residual_norm(v[0], v[1], v[2], v[3], 1e-5); };
  expect_same(run(true, gated, {x, a, w, g}, up), run(false, gated, {x, a, w, g}, up), 2e-6, "gated_residual_norm");
  auto ungated = [](std::vector<torch::Tensor>& v) {
    return fused::gated_residual_norm(v[0], v[1], v[2], torch::Tensor(), 1e-5);
  };
  expect_same(run(true, ungated, {x, a, w}, up), run(false, ungated, {x, a, w}, up), 2e-6, "residual_norm");
  auto h = torch::randn({B, T, 4 * D}), b = torch::randn({B, T, 4 * D}), up4 = torch::randn({B, T, 4 * D});
  auto swiglu = [](std::vector<torch::Tensor>& v) { return fused::swiglu(v[0], v[1]); };
  expect_same(run(true, swiglu, {h, b}, up4), run(false, swiglu, {h, b}, up4), 2e-6, "swiglu");
}

TEST(FusedCpu, RopeHeadsMatchesHandComputedValuesHeadMajor) {
  // head_dim 4, theta 10000: frequencies 1 and 0.01; two heads at position 1, scale 2 folded in
  auto tables = rope_tables(2, 4, 10000.0, torch::kCPU);
  auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({1, 1, 2, 4}).expand({1, 2, 2, 4});
  auto c = tables.cos.slice(0, 0, 2) * 2.0, s = tables.sin.slice(0, 0, 2) * 2.0;
  ASSERT_TRUE(fused::rope_applies(x, c, s)) << "a broadcast view with unit stride on D is taken";
  auto y = fused::rope_heads(x, c, s);  // [B, H, T, D]
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 2, 2, 4}));
  EXPECT_TRUE(y.is_contiguous());
  // head 0, position 1: (1, 0) by 1 rad -> 2 (cos 1, sin 1); (0, 1) by 0.01 rad -> 2 (-sin .01, cos .01)
  const std::vector<double> h0{2 * 0.5403023059, 2 * 0.8414709848, 2 * -0.0099998333, 2 * 0.9999500004};
  // head 1, position 1: (0, 1) by 1 rad -> 2 (-sin 1, cos 1); (1, 0) by 0.01 rad -> 2 (cos .01, sin .01)
  const std::vector<double> h1{2 * -0.8414709848, 2 * 0.5403023059, 2 * 0.9999500004, 2 * 0.0099998333};
  for (int j = 0; j < 4; ++j) {
    EXPECT_NEAR(y[0][0][1][j].item<double>(), h0[j], 2e-6);
    EXPECT_NEAR(y[0][1][1][j].item<double>(), h1[j], 2e-6);
    EXPECT_NEAR(y[0][0][0][j].item<double>(), 2 * x[0][0][0][j].item<double>(), 1e-6);  // position 0: scale only
  }
}

TEST(FusedCpu, RopeHeadsEqualsTheCompositeRotationOnAStridedViewInValueAndGradient) {
  torch::manual_seed(4);
  const int64_t B = 2, T = 7, H = 3, D = 8, W = 2 * H * D + 5;
  auto tables = rope_tables(T + 3, D, 10000.0, torch::kCPU);  // longer than T: sliced
  auto base = torch::randn({B, T, W}), up = torch::randn({B, H, T, D});
  // x is a strided slice of a wider product, as q and k are slices of the one QKV product
  auto view = [&](const torch::Tensor& b) { return b.narrow(-1, 5, H * D).reshape({B, T, H, D}); };
  auto c = tables.cos.slice(0, 0, T).contiguous(), s = tables.sin.slice(0, 0, T).contiguous();
  ASSERT_TRUE(fused::rope_applies(view(base), c, s));
  auto f = [&](std::vector<torch::Tensor>& v) { return apply_rope_heads(view(v[0]), tables, 0.35); };
  auto on = run(true, f, {base}, up), off = run(false, f, {base}, up);
  expect_same(on, off, 2e-6, "rope_heads");
  EXPECT_TRUE(on[0].is_contiguous()) << "the attention products read it without a copy";
  EXPECT_FALSE(off[0].is_contiguous()) << "the composite path's transposed view (what the fused one replaces)";
  EXPECT_EQ(on[1].narrow(-1, 0, 5).abs().max().item<float>(), 0.0f) << "no gradient outside the slice";
  // per-sequence tables ([B, T, D/2], gathered positions) are not taken: the composite path, exactly
  RopeTables per_seq{tables.cos.slice(0, 0, T).expand({B, T, D / 2}), tables.sin.slice(0, 0, T).expand({B, T, D / 2})};
  EXPECT_FALSE(fused::rope_applies(view(base), per_seq.cos, per_seq.sin));
  EXPECT_TRUE(torch::equal(apply_rope_heads(view(base), per_seq), apply_rope(view(base), per_seq).transpose(1, 2)));
}

TEST(FusedCpu, AZeroGatePassesTheResidualThroughExactly) {
  torch::manual_seed(1);
  auto x = torch::randn({2, 5, 8}), a = torch::randn({2, 5, 8}).requires_grad_(true), w = torch::rand({8});
  auto g = torch::zeros({2, 5}).requires_grad_(true);
  auto h = fused::gated_residual_norm(x, a, w, g, 1e-5);
  EXPECT_TRUE(torch::equal(h, x));
  auto up = torch::randn({2, 5, 8});
  h.backward(up);
  EXPECT_EQ(a.grad().abs().max().item<float>(), 0.0f) << "a skipped token's sub-layer gets no gradient";
  // the gate's gradient is the upstream gradient dotted with the normalised sub-layer output
  auto y = a.detach() * torch::rsqrt(a.detach().pow(2).mean(-1, true) + 1e-5) * w;
  EXPECT_TRUE(torch::allclose(g.grad(), (up * y).sum(-1), 1e-5, 1e-5));
}

TEST(FusedCpu, WeightGradientsDoNotDependOnTheThreadCount) {
  torch::manual_seed(2);
  auto a = torch::randn({4, 300, 64}), w = torch::rand({64}), up = torch::randn({4, 300, 64});
  auto grad_w = [&](int threads) {
    torch::set_num_threads(threads);
    auto wr = w.clone().requires_grad_(true);
    fused::rms_norm(a, wr, 1e-5).backward(up);
    return wr.grad();
  };
  const int before = torch::get_num_threads();
  auto one = grad_w(1), two = grad_w(2);
  torch::set_num_threads(before);
  EXPECT_TRUE(torch::equal(one, two)) << "bit-identical runs need a fixed reduction order";
}

TEST(FusedCpu, InputsTheKernelsDoNotTakeUseTheCompositePath) {
  auto x = torch::randn({4, 6, 8}, torch::kFloat64), w = torch::ones({8}, torch::kFloat64);
  EXPECT_FALSE(fused::applies(x));
  auto expect = x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-5);  // RMSNorm computes in fp32, returns fp64
  auto y = fused::rms_norm(x, w, 1e-5);
  EXPECT_EQ(y.scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::allclose(y, expect, 1e-6, 1e-6));
  auto strided = torch::randn({8, 4}).t();  // not contiguous
  EXPECT_FALSE(fused::applies(strided));
  EXPECT_TRUE(torch::allclose(fused::swiglu(strided, strided), torch::silu(strided) * strided));
}

TEST(FusedCpu, AWholeGatedModelGivesTheSameLogitsAndGradientsWithAndWithout) {
  auto cfg = skipbench::testing::small_model(4);
  torch::manual_seed(3);
  auto model = build_model(cfg, {"skip_middle", {}});
  auto tokens = torch::randint(0, cfg.vocab_size, {2, cfg.max_seq_len});
  auto pass = [&](bool on) {
    fused::set_enabled(on);
    model->zero_grad();
    auto out = model->forward(tokens);
    out.logits.pow(2).mean().backward();
    fused::set_enabled(true);
    std::vector<torch::Tensor> r{out.logits.detach()};
    for (const auto& p : model->parameters()) r.push_back(p.grad().clone());
    return r;
  };
  expect_same(pass(true), pass(false), 1e-5, "skip_middle model");
}
