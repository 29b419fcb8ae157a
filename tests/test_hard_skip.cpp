// test_hard_skip.cpp: real skipping equals the soft (gated) forward.
// Tolerance: with gates exactly 0 or 1 the two paths differ only in attention, where the soft path still gives a
// skipped key j the unnormalised weight 1e-6 * exp(score) (ln 1e-6 is added, not -inf) and hard skip gives it 0.
// Per query row that moves the output by at most T * 1e-6 * exp(score spread) * 2 max|v| (~1e-5 at these sizes,
// scores ~0.1); the post-attention RMSNorm rescales the small attention output to unit RMS, amplifying it up to
// ~100x, so logits agree to ~1e-3 at worst. Measured: at most 9e-7 here, so we assert 1e-4 (for learned gates,
// where the same argument holds for the exact zeros, 2e-3). We also assert that an
// unmasked (attention_gate none) soft path is far away (measured 0.13..0.16), so the test sees what key gating hides.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/registry/variant_registry.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::small_model;

namespace {
Transformer forced(double sparsity, const char* gate = "key", int64_t L = 6) {
  torch::manual_seed(11);
  return build_model(small_model(L), {"forced_skip", {{"sparsity", sparsity}, {"attention_gate", gate}}});
}
double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }
}  // namespace

TEST(HardSkip, BinaryGatesGiveTheSoftPathsLogitsWithinTolerance) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {3, 16});
  // L = 6: these give 1.5, 3 and 4.5 skipped blocks per token on average, i.e. a mix of two skip depths, so
  // some blocks are partly skipped (all-or-nothing blocks would make the comparison trivially exact)
  for (double s : {0.25, 0.5, 0.75}) {
    auto m = forced(s);
    auto soft = m->forward(tokens), hard = m->forward_hard_skip(tokens);
    // the gates really are binary and really skip
    auto g = torch::stack(soft.gates);
    EXPECT_TRUE(((g == 0) | (g == 1)).all().item<bool>());
    EXPECT_GT((g == 0).sum().item<int64_t>(), 0) << s;
    EXPECT_LT(max_diff(soft.logits, hard.logits), 1e-4) << "sparsity " << s;
    // realised computed fraction = 1 - sparsity of (token, block) pairs
    EXPECT_NEAR(static_cast<double>(m->hard_skip_computed) / m->hard_skip_possible, 1 - (g == 0).to(torch::kFloat64).mean().item<double>(), 1e-12);
    // without key gating the skipped positions stay visible in the soft path: clearly different
    torch::manual_seed(11);
    auto none = build_model(small_model(6), {"forced_skip", {{"sparsity", s}, {"attention_gate", "none"}}});
    auto soft_none = none->forward(tokens);
    EXPECT_GT(max_diff(soft_none.logits, hard.logits), 10 * max_diff(soft.logits, hard.logits)) << s;
    std::cout << "[hard skip] sparsity " << s << ": max |logit difference| soft(key) vs hard "
              << max_diff(soft.logits, hard.logits) << ", soft(none) vs hard " << max_diff(soft_none.logits, hard.logits)
              << "\n";
  }
}

TEST(HardSkip, NoSkipIsTheSoftPathAndFullSkipIsTheEmbeddingPath) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {2, 12});
  auto m0 = forced(0.0);
  EXPECT_LT(max_diff(m0->forward(tokens).logits, m0->forward_hard_skip(tokens).logits), 1e-6);
  EXPECT_EQ(m0->hard_skip_computed, m0->hard_skip_possible);
  auto m1 = forced(1.0);
  auto hard = m1->forward_hard_skip(tokens);
  EXPECT_EQ(m1->hard_skip_computed, 0);
  auto h = m1->input_norm(m1->tok_embeddings(tokens));
  EXPECT_TRUE(torch::equal(hard.logits, m1->output(m1->output_norm(h))));
}

TEST(HardSkip, DenseModelAndLearnedSoftGatesAgree) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {2, 10});
  torch::manual_seed(3);
  auto dense = build_model(small_model(4), {"dense", {}});
  EXPECT_LT(max_diff(dense->forward(tokens).logits, dense->forward_hard_skip(tokens).logits), 1e-6);
  // learned gates strictly between 0 and 1 are applied as in the soft path; only exact zeros are skipped
  torch::manual_seed(4);
  auto gated = build_model(small_model(4), {"skip_middle", {}});
  auto soft = gated->forward(tokens);
  auto hard = gated->forward_hard_skip(tokens);
  EXPECT_LT(max_diff(soft.logits, hard.logits), 2e-3);
}

TEST(ForcedSkip, RealisesTheRequestedSparsity) {
  torch::NoGradGuard ng;
  auto cfg = small_model(12);
  cfg.max_seq_len = 512;
  for (double s : {0.0, 0.25, 0.5, 0.75}) {
    auto m = build_model(cfg, {"forced_skip", {{"sparsity", s}}});
    auto out = m->forward(torch::randint(0, 32, {1, 512}));
    const double realised = (torch::stack(out.gates) == 0).to(torch::kFloat64).mean().item<double>();
    EXPECT_NEAR(realised, s, 0.03) << s;
    // skipping is symmetric about the middle and monotone in the first half
    for (int l = 0; l < 6; ++l) EXPECT_TRUE(torch::equal(out.gates[l], out.gates[11 - l]));
    for (int l = 1; l < 6; ++l) EXPECT_TRUE((out.gates[l] <= out.gates[l - 1]).all().item<bool>());
  }
}
