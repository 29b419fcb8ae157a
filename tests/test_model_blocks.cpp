// test_model_blocks.cpp: RMSNorm, RoPE and attention against hand-computed values; causal masking; the three
// attention-gate modes (key / none / reference) and what each changes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "harness/model/attention.h"
#include "harness/model/rmsnorm.h"
#include "harness/model/rope.h"
#include "tests/test_util.h"

using namespace skipbench;

TEST(RMSNorm, MatchesHandComputedValues) {
  RMSNorm norm(4, 1e-5);
  auto x = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 4});
  // mean(x^2) = 30/4 = 7.5; 1/sqrt(7.5 + 1e-5) = 0.3651481282...
  auto y = norm(x);
  EXPECT_NEAR(y[0][0].item<double>(), 0.3651481282, 1e-6);
  EXPECT_NEAR(y[0][3].item<double>(), 4 * 0.3651481282, 1e-6);
  {
    torch::NoGradGuard ng;
    norm->weight.copy_(torch::tensor({1.0f, 2.0f, 0.5f, -1.0f}));
  }
  y = norm(x);
  EXPECT_NEAR(y[0][1].item<double>(), 2 * 2 * 0.3651481282, 1e-6);
  EXPECT_NEAR(y[0][3].item<double>(), -4 * 0.3651481282, 1e-6);
}

TEST(RMSNorm, ScaleInvariantAndEpsMatters) {
  RMSNorm norm(3, 1e-5);
  auto x = torch::tensor({0.5f, -1.0f, 2.0f}).view({1, 3});
  EXPECT_TRUE(torch::allclose(norm(x), norm(x * 100), 1e-5, 1e-6));
  // for a tiny input eps dominates: y ~ x / sqrt(eps)
  auto tiny = torch::full({1, 3}, 1e-6f);
  EXPECT_NEAR(norm(tiny)[0][0].item<double>(), 1e-6 / std::sqrt(1e-12 + 1e-5), 1e-6);
}

TEST(RoPE, RotatesInterleavedPairsByPositionTimesFrequency) {
  // head_dim 4, theta 10000: frequencies 1 and 10000^(-1/2) = 0.01.
  auto tables = rope_tables(2, 4, 10000.0, torch::kCPU);
  auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 1, 4});
  auto y = apply_rope(x, tables);
  // position 0: unchanged
  EXPECT_TRUE(torch::allclose(y[0][0][0], x[0][0][0]));
  // position 1: pair (1,0) by 1 rad -> (cos 1, sin 1); pair (0,1) by 0.01 rad -> (-sin .01, cos .01)
  auto p1 = y[0][1][0];
  EXPECT_NEAR(p1[0].item<double>(), 0.5403023059, 1e-6);
  EXPECT_NEAR(p1[1].item<double>(), 0.8414709848, 1e-6);
  EXPECT_NEAR(p1[2].item<double>(), -0.0099998333, 1e-6);
  EXPECT_NEAR(p1[3].item<double>(), 0.9999500004, 1e-6);
}

TEST(RoPE, PreservesNormsAndMakesScoresRelative) {
  auto tables = rope_tables(16, 8, 10000.0, torch::kCPU);
  torch::manual_seed(1);
  auto q = torch::randn({1, 1, 1, 8}), k = torch::randn({1, 1, 1, 8});
  auto at = [&](const torch::Tensor& v, int64_t pos) {
    return apply_rope(v.expand({1, 16, 1, 8}).contiguous(), tables)[0][pos][0];
  };
  EXPECT_NEAR(at(q, 5).norm().item<double>(), q.norm().item<double>(), 1e-5);
  // <R(m) q, R(n) k> depends only on m - n
  EXPECT_NEAR(at(q, 7).dot(at(k, 3)).item<double>(), at(q, 12).dot(at(k, 8)).item<double>(), 1e-5);
}

namespace {
// One head of width 2, identity projections: attention outputs are weighted sums of the raw inputs.
Attention identity_attention() {
  Attention a(2, 1, 1);
  torch::NoGradGuard ng;
  for (auto* w : {&a->wq, &a->wk, &a->wv, &a->wo}) (*w)->weight.copy_(torch::eye(2));
  return a;
}
}  // namespace

TEST(Attention, MatchesHandComputedValues) {
  auto attn = identity_attention();
  auto tables = rope_tables(2, 2, 10000.0, torch::kCPU);  // head_dim 2: one pair, frequency 1
  auto x = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 2});
  auto y = attn(x, tables, torch::Tensor(), AttentionGate::none);
  // token 0 sees only itself: output = v0 = (1, 0)
  EXPECT_NEAR(y[0][0][0].item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(y[0][0][1].item<double>(), 0.0, 1e-6);
  // token 1: q1 = k1 = R(1)(0,1) = (-sin 1, cos 1), k0 = (1, 0); scores / sqrt(2)
  const double s10 = -std::sin(1.0) / std::sqrt(2.0), s11 = 1.0 / std::sqrt(2.0);
  const double p10 = std::exp(s10) / (std::exp(s10) + std::exp(s11)), p11 = 1 - p10;
  EXPECT_NEAR(y[0][1][0].item<double>(), p10 * 1.0, 1e-6);  // v is not rotated: v0 = (1,0), v1 = (0,1)
  EXPECT_NEAR(y[0][1][1].item<double>(), p11 * 1.0, 1e-6);
}

TEST(Attention, IsCausal) {
  torch::manual_seed(0);
  Attention attn(16, 4, 2);
  auto tables = rope_tables(6, 4, 10000.0, torch::kCPU);
  auto x = torch::randn({2, 6, 16});
  auto y = attn(x, tables, torch::Tensor(), AttentionGate::none);
  auto x2 = x.clone();
  x2.slice(1, 4, 6).normal_();  // change the future (positions 4, 5)
  auto y2 = attn(x2, tables, torch::Tensor(), AttentionGate::none);
  EXPECT_TRUE(torch::allclose(y.slice(1, 0, 4), y2.slice(1, 0, 4), 1e-6, 1e-6));
  EXPECT_FALSE(torch::allclose(y.slice(1, 4, 6), y2.slice(1, 4, 6), 1e-3, 1e-3));
  attn->keep_probs = true;
  attn(x, tables, torch::Tensor(), AttentionGate::none);
  auto p = attn->last_probs;  // [B, H, T, T]: zero above the diagonal
  EXPECT_EQ(p.triu(1).abs().max().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones({2, 4, 6}), 1e-5, 1e-5));
}

namespace {
struct GateCase {
  Attention attn{nullptr};
  RopeTables tables;
  torch::Tensor x, gate;
};
GateCase gate_case() {
  torch::manual_seed(3);
  GateCase c{Attention(16, 4, 4), rope_tables(5, 4, 10000.0, torch::kCPU), torch::randn({1, 5, 16}),
             torch::ones({1, 5})};
  c.gate[0][1] = 0.0;  // position 1 skipped
  c.gate[0][3] = 0.5;  // position 3 half open
  c.attn->keep_probs = true;
  return c;
}
}  // namespace

TEST(AttentionGate, KeyGatingMakesASkippedPositionInvisibleToLaterTokens) {
  auto c = gate_case();
  c.attn(c.x, c.tables, c.gate, AttentionGate::key);
  auto pk = c.attn->last_probs.clone();
  c.attn(c.x, c.tables, c.gate, AttentionGate::none);
  auto pn = c.attn->last_probs.clone();
  // key: every later query gives the skipped key 1 about 1e-6 of its unnormalised weight
  EXPECT_LT(pk.select(-1, 1).slice(-1, 2, 5).max().item<double>(), 1e-5);
  // none: the skipped key keeps real weight
  EXPECT_GT(pn.select(-1, 1).slice(-1, 2, 5).min().item<double>(), 1e-3);
  // g = 0.5 halves key 3's weight relative to key 0: p(i,3)/p(i,0) = 0.5 * the ungated ratio
  const double rk = (pk[0][0][4][3] / pk[0][0][4][0]).item<double>();
  const double rn = (pn[0][0][4][3] / pn[0][0][4][0]).item<double>();
  EXPECT_NEAR(rk / rn, 0.5, 1e-4);
  // query 0 only sees key 0 (gate 1): unchanged
  EXPECT_TRUE(torch::allclose(pk.select(2, 0), pn.select(2, 0)));
}

TEST(AttentionGate, ReferenceQueryIndexedTermChangesNothingKeyChangesOutput) {
  auto c = gate_case();
  auto none = c.attn(c.x, c.tables, c.gate, AttentionGate::none);
  auto ref = c.attn(c.x, c.tables, c.gate, AttentionGate::reference);
  auto key = c.attn(c.x, c.tables, c.gate, AttentionGate::key);
  // reference adds ln g_i to every logit of row i: softmax cancels a per-row constant. Computed (the mask with the
  // term, as hard skip builds it) it changes the output by rounding only; the math path leaves it out: exactly none
  auto with_term = c.attn->forward_masked(c.x, c.tables, attention_mask(5, c.gate, AttentionGate::reference, torch::kCPU));
  EXPECT_GT(attention_gate_bias(c.gate, AttentionGate::reference).abs().max().item<double>(), 0.1);  // a real term
  EXPECT_LT((with_term - none).abs().max().item<double>(), 1e-5);
  EXPECT_TRUE(torch::equal(ref, none));
  // key changes what later tokens read; the positions before the first gated key are unchanged
  EXPECT_GT((key - none).slice(1, 2, 5).abs().max().item<double>(), 1e-2);
  EXPECT_LT((key - none).slice(1, 0, 1).abs().max().item<double>(), 1e-6);
  // and reference passes no gradient to the gate, key does
  auto g1 = c.gate.clone().requires_grad_(true);
  c.attn(c.x, c.tables, g1, AttentionGate::reference).sum().backward();
  EXPECT_FALSE(g1.grad().defined()) << "the cancelling term is not computed, so the gate is not in the graph";
  auto g2 = (c.gate.clone() * 0.9 + 0.05).requires_grad_(true);
  c.attn(c.x, c.tables, g2, AttentionGate::key).pow(2).sum().backward();
  EXPECT_GT(g2.grad().abs().max().item<double>(), 1e-3);
}

TEST(AttentionGate, BiasIsLogOfClampedGate) {
  auto g = torch::tensor({1.0f, 0.5f, 0.0f}).view({1, 3});
  auto b = attention_gate_bias(g, AttentionGate::key);
  EXPECT_EQ(b.sizes(), (std::vector<int64_t>{1, 1, 1, 3}));
  EXPECT_NEAR(b[0][0][0][1].item<double>(), std::log(0.5), 1e-6);
  EXPECT_NEAR(b[0][0][0][2].item<double>(), std::log(1e-6), 1e-4);
  EXPECT_EQ(attention_gate_bias(g, AttentionGate::reference).sizes(), (std::vector<int64_t>{1, 1, 3, 1}));
  EXPECT_FALSE(attention_gate_bias(g, AttentionGate::none).defined());
}

// Both SDPA paths (the bias folded into an extra Q/K channel; the bias as a dense mask) against the math path.
TEST(AttentionSdpa, FoldedAndMaskedKeyBiasMatchTheMathPathValuesAndGateGradients) {
  for (auto kernel : {AttentionKernel::sdpa, AttentionKernel::sdpa_mask})
  for (auto mode : {AttentionGate::none, AttentionGate::key, AttentionGate::reference}) {
    SCOPED_TRACE(kernel == AttentionKernel::sdpa ? "sdpa (folded)" : "sdpa_mask");
    torch::manual_seed(7);
    Attention math(32, 4, 2, AttentionKernel::math);
    Attention fused(32, 4, 2, kernel);
    {
      torch::NoGradGuard ng;
      auto src = math->parameters(), dst = fused->parameters();
      for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
    }
    auto tables = rope_tables(9, 8, 10000.0, torch::kCPU);
    auto x = torch::randn({2, 9, 32});
    auto g0 = torch::rand({2, 9}) * 0.98 + 0.01;
    g0[0][3] = 0.0;  // a skipped key: hits the 1e-6 floor in both paths
    auto ga = g0.clone().requires_grad_(true), gb = g0.clone().requires_grad_(true);
    auto ya = math(x, tables, ga, mode), yb = fused(x, tables, gb, mode);
    EXPECT_TRUE(torch::allclose(ya, yb, 1e-4, 1e-5)) << to_string(mode) << " max diff "
                                                     << (ya - yb).abs().max().item<double>();
    ya.pow(2).sum().backward();
    yb.pow(2).sum().backward();
    if (mode == AttentionGate::key) {
      EXPECT_TRUE(torch::allclose(ga.grad(), gb.grad(), 1e-3, 1e-5)) << (ga.grad() - gb.grad()).abs().max().item<double>();
      EXPECT_GT(gb.grad().abs().sum().item<double>(), 0.0);  // the gates learn through the channel / the mask
    }
  }
}

TEST(AttentionSdpa, BackendRestrictionDecidesTheKernelAndUnknownNamesAreRefused) {
  const torch::Device cpu(torch::kCPU);
  EXPECT_EQ(sdpa_kernel_choice(AttentionKernel::math, 4, 8, 16, true, cpu, torch::kFloat32), "none (math path)");
  const auto free_choice = sdpa_kernel_choice(AttentionKernel::sdpa, 4, 8, 16, true, cpu, torch::kFloat32);
  EXPECT_NE(free_choice, "error");
  set_sdpa_backend("math");
  EXPECT_EQ(sdpa_kernel_choice(AttentionKernel::sdpa, 4, 8, 16, true, cpu, torch::kFloat32), "math");
  EXPECT_EQ(sdpa_kernel_choice(AttentionKernel::sdpa_mask, 4, 8, 16, true, cpu, torch::kFloat32), "math");
  set_sdpa_backend("auto");
  EXPECT_EQ(sdpa_kernel_choice(AttentionKernel::sdpa, 4, 8, 16, true, cpu, torch::kFloat32), free_choice);
  const auto err = skipbench::testing::error_of([] { set_sdpa_backend("fast"); });
  EXPECT_NE(err.find("train.sdpa_backend"), std::string::npos) << err;
}
