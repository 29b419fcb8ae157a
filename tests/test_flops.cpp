// test_flops.cpp: the `reference` FLOPs mode reproduces the released code's estimate_flops.py. Expected values
// were computed by hand from the published formula (Python, independently of this C++): for the paper's model
// block = 22,792,413,184 FLOPs/sequence, dense total 626,071,654,400 (paper.md §4.2: 2.279e10 and 6.261e11).
#include <gtest/gtest.h>

#include "profiling/device_peaks.h"
#include "harness/model/flops.h"
#include "harness/model/memory.h"
#include "harness/registry/variant_registry.h"
#include "tests/test_util.h"

using namespace skipbench;

namespace {
ModelConfig paper12() {
  ModelConfig c;
  c.vocab_size = 50257;
  c.dim = 768;
  c.n_layers = 12;
  c.n_heads = 12;
  c.max_seq_len = 1024;
  return c;
}
ModelConfig tiny() {
  ModelConfig c;  // dim 128, 4 heads, 2 kv heads, hidden 512, 8 layers, seq 128, vocab 257
  c.n_kv_heads = 2;
  return c;
}
}  // namespace

TEST(ReferenceFlops, PaperModelMatchesHandComputation) {
  EXPECT_EQ(reference_flops::block(paper12()), 22792413184.0);
  auto dense = estimate_flops(paper12(), false, {}, FlopsMode::reference);
  EXPECT_EQ(dense.forward_per_sequence, 626071654400.0);
  // gated at sparsity 0.25: + mask linears 2*6*1024*768 + adds 5*1024, blocks x 0.75
  auto gated = estimate_flops(paper12(), true, {0.25}, FlopsMode::reference);
  EXPECT_EQ(gated.forward_per_sequence, 489326617600.0);
  EXPECT_DOUBLE_EQ(gated.forward_per_token, 489326617600.0 / 1024);
}

TEST(ReferenceFlops, TinyGqaModelMatchesHandComputation) {
  EXPECT_EQ(estimate_flops(tiny(), false, {}, FlopsMode::reference).forward_per_sequence, 1186318848.0);
  EXPECT_EQ(estimate_flops(tiny(), true, {0.5}, FlopsMode::reference).forward_per_sequence, 597568384.0);
}

TEST(ReferenceFlops, PerLayerSparsityEntersAsItsMean) {
  std::vector<double> s = {0, 0, 0.5, 1, 1, 0.5, 0, 0};  // mean 0.375
  EXPECT_EQ(estimate_flops(tiny(), true, s, FlopsMode::reference).forward_per_sequence,
            estimate_flops(tiny(), true, {0.375}, FlopsMode::reference).forward_per_sequence);
}

TEST(ReferenceFlops, GatedAtSparsitySEqualsDenseWithFewerLayersPlusMasks) {
  // paper.md §4.3: a 12-layer model at sparsity 0.5 costs the same blocks as a dense 6-layer model
  auto c6 = paper12();
  c6.n_layers = 6;
  const double gated = estimate_flops(paper12(), false, {0.5}, FlopsMode::reference).forward_per_sequence;
  EXPECT_EQ(gated, estimate_flops(c6, false, {}, FlopsMode::reference).forward_per_sequence);
}

TEST(StandardFlops, PaperModelIsAboutOneGigaflopPerTrainingToken) {
  auto e = estimate_flops(paper12(), false, {}, FlopsMode::standard);
  // 6 * (12 * 9,437,184 + 768 * 50257) + 12 * 12 * 768 * 1024 (PaLM's attention term)
  const double expect = 6.0 * (12 * 9437184.0 + 768.0 * 50257) + 12.0 * 12 * 768 * 1024;
  EXPECT_NEAR(e.training_per_token, expect, 1.0);
  EXPECT_NEAR(e.training_per_token, 1.02e9, 0.01e9);
  // sparsity scales only the blocks; masks add 2*d per first-half layer per token
  auto g = estimate_flops(paper12(), true, {0.5}, FlopsMode::standard);
  const double blocks = 12 * (2 * 9437184.0 + 4 * 1024.0 * 768);
  EXPECT_NEAR(e.forward_per_token - g.forward_per_token, 0.5 * blocks - 6 * 2 * 768.0, 1.0);
}

TEST(Flops, RejectsBadSparsity) {
  EXPECT_ANY_THROW(estimate_flops(tiny(), true, {1.5}, FlopsMode::standard));
  EXPECT_ANY_THROW(estimate_flops(tiny(), true, {0.1, 0.2}, FlopsMode::standard));
  EXPECT_ANY_THROW(parse_flops_mode("palm"));
}

TEST(DevicePeaks, KnownGpuNamesMapToTheirDenseBf16PeakAndUnknownOnesToNone) {
  auto sxm = skipbench::bf16_peak_for("NVIDIA H100 80GB HBM3");
  ASSERT_TRUE(sxm.has_value());
  EXPECT_EQ(sxm->entry, "H100 SXM");
  EXPECT_DOUBLE_EQ(sxm->bf16_flops, 989.4e12);
  EXPECT_EQ(skipbench::bf16_peak_for("NVIDIA H100 PCIe")->entry, "H100 PCIe");  // not the SXM figure
  EXPECT_EQ(skipbench::bf16_peak_for("NVIDIA GH200 480GB")->entry, "GH200");    // not "H200"
  EXPECT_DOUBLE_EQ(skipbench::bf16_peak_for("NVIDIA H200")->bf16_flops, 989.4e12);
  EXPECT_FALSE(skipbench::bf16_peak_for("AMD EPYC 7B13").has_value());
  // the paper model at the target: ~1.0 GFLOP per training token, 41% of an H100 -> ~400K tokens/s
  EXPECT_NEAR(0.41 * sxm->bf16_flops / 1.0243e9 / 1e3, 396, 1);
}

TEST(MemoryEstimate, CountsExactlyTheParametersOfASkipMiddleModelAndRefusesTheImpossible) {
  auto cfg = skipbench::testing::small_model(4);  // grouped-query attention: kv heads < heads
  auto model = build_model(cfg, {"skip_middle", {}});
  double n = 0;
  for (const auto& p : model->parameters()) n += static_cast<double>(p.numel());
  const auto e = estimate_training_memory(cfg, 2);
  EXPECT_EQ(e.parameters, n);
  EXPECT_EQ(e.state_bytes, 16 * n);  // fp32 weights, gradients, two AdamW moments
  EXPECT_GT(e.activation_bytes, 0.0);
  auto huge = cfg;
  huge.n_layers = 10000000000LL;
  const std::string msg = skipbench::testing::error_of([&] { require_memory_fits(huge, 2, 24e9, "model"); });
  EXPECT_NE(msg.find("model: this run needs about"), std::string::npos) << msg;
  EXPECT_NO_THROW(require_memory_fits(cfg, 2, 24e9, "model"));
}
