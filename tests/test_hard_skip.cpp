// test_hard_skip.cpp: real skipping (forward_hard_skip, packed active tokens) against the soft (gated) forward.
//
// Key gating. With a gate exactly 0 the two paths differ only in attention: the soft path still gives a skipped key
// j the unnormalised weight 1e-6 * exp(score) (ln 1e-6 is added, not -inf) and hard skip gives it 0. Per query row
// that moves the output by at most T * 1e-6 * exp(score spread) * 2 max|v| (~1e-5 at these sizes); the
// post-attention RMSNorm rescales the small attention output to unit RMS, amplifying it up to ~100x, so logits
// agree to ~1e-3 at worst. Measured: at most ~1e-6 here, so we assert 1e-4. Gates strictly between 0 and 1 are
// applied exactly as in the soft path (output scale g, key bias ln g).
// none / reference gating: skipped tokens' keys and values stay visible, so hard skip is the same computation as
// the soft path (up to float summation order: 1e-5).
// Patterns: uniform (forced_skip), mixed per row (forced_skip row_spread, and a hand-made policy where one row is
// fully active while another is half skipped, a block where every row is skipped, and fractional gates).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/registry/variant_registry.h"
#include "tests/test_util.h"
#include "variants/skip_middle.h"

using namespace skipbench;
using skipbench::testing::small_model;

namespace {
Transformer forced(double sparsity, const char* gate = "key", int64_t L = 6, double spread = 0.0) {
  torch::manual_seed(11);
  return build_model(small_model(L), {"forced_skip", {{"sparsity", sparsity}, {"attention_gate", gate},
                                                      {"row_spread", spread}}});
}
double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Gates given per layer as [B, T] tensors (undefined: an ungated block).
class FixedGates : public GatePolicy {
 public:
  FixedGates(std::vector<torch::Tensor> g, AttentionGate ag) : g_(std::move(g)), ag_(ag) {}
  torch::Tensor gate(int64_t l, const torch::Tensor&, ForwardOutput&) override { return g_[l]; }
  AttentionGate attention_gate() const override { return ag_; }

 private:
  std::vector<torch::Tensor> g_;
  AttentionGate ag_;
};

// B = 3, T = 8, L = 4: layer 0 ungated; layer 1 row 0 fully active, row 1 half skipped (odd positions), row 2 only
// position 0; layer 2 every row skipped; layer 3 fractional gates with exact zeros in rows 1 and 2 only.
std::vector<torch::Tensor> mixed_gates() {
  const int64_t B = 3, T = 8;
  auto g1 = torch::ones({B, T});
  for (int64_t t = 1; t < T; t += 2) g1[1][t] = 0;
  g1[2].fill_(0);
  g1[2][0] = 1;
  auto g3 = torch::linspace(0.2, 0.9, B * T).view({B, T});
  g3[1][2] = 0, g3[1][5] = 0, g3[2][0] = 0, g3[2][7] = 0;
  return {torch::Tensor(), g1, torch::zeros({B, T}), g3};
}

Transformer fixed_model(AttentionGate ag) {
  torch::manual_seed(5);
  Transformer m(small_model(4), std::make_shared<FixedGates>(mixed_gates(), ag));
  m->init_weights();
  m->eval();
  return m;
}
}  // namespace

TEST(HardSkip, UniformBinaryGatesGiveTheSoftPathsLogitsWithinTolerance) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {3, 16});
  // L = 6: 1.5, 3 and 4.5 skipped blocks per token on average, a mix of two skip depths, so some blocks are
  // partly skipped (all-or-nothing blocks would make the comparison trivially exact)
  for (double s : {0.25, 0.5, 0.75}) {
    auto m = forced(s);
    auto soft = m->forward(tokens), hard = m->forward_hard_skip(tokens);
    auto g = torch::stack(soft.gates);
    EXPECT_TRUE(((g == 0) | (g == 1)).all().item<bool>());
    EXPECT_GT((g == 0).sum().item<int64_t>(), 0) << s;
    EXPECT_LT(max_diff(soft.logits, hard.logits), 1e-4) << "sparsity " << s;
    // without key gating the skipped positions stay visible in the soft path: clearly different
    auto soft_none = forced(s, "none")->forward(tokens);
    EXPECT_GT(max_diff(soft_none.logits, hard.logits), 10 * max_diff(soft.logits, hard.logits)) << s;
  }
}

TEST(HardSkip, MixedPerRowPatternsAreExactAndIndependentOfTheBatch) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {4, 16});
  auto m = forced(0.5, "key", 6, /*spread=*/1.0);
  auto soft = m->forward(tokens), hard = m->forward_hard_skip(tokens);
  auto g = torch::stack(soft.gates);                                        // [L, B, T]
  auto per_row = (g == 0).to(torch::kFloat64).mean(torch::IntArrayRef{0, 2});  // [B]
  EXPECT_EQ(per_row[0].item<double>(), 0.0);                                 // row 0 is fully computed
  EXPECT_GT(per_row[3].item<double>(), 0.75);                                // the last row skips the most
  // at some block one row is fully active while another is partly skipped: the old path ran it densely
  auto active = (g > 0).sum(2);  // [L, B]
  EXPECT_TRUE(((active.select(1, 0) == 16) & (active.select(1, 3) < 16)).any().item<bool>());
  EXPECT_LT(max_diff(soft.logits, hard.logits), 1e-4);
  // a sequence's logits do not depend on the other sequences of its batch
  for (int64_t b = 0; b < 4; ++b) {
    auto one = forced(0.5, "key", 6, 1.0);
    // the row's own pattern: a batch of four copies of it puts row b's pattern at b
    auto alone = one->forward_hard_skip(tokens[b].unsqueeze(0).expand({4, 16}).contiguous());
    EXPECT_LT(max_diff(alone.logits[b], hard.logits[b]), 1e-5) << b;
  }
  // the pairs computed are the non-zero gates
  EXPECT_EQ(m->skip_work.computed, (g > 0).sum().item<int64_t>());
  EXPECT_EQ(m->skip_work.possible, g.numel());
}

TEST(HardSkip, HandMadeMixedPatternsWithKeyGating) {
  torch::NoGradGuard ng;
  auto m = fixed_model(AttentionGate::key);
  auto tokens = torch::randint(0, 32, {3, 8});
  auto soft = m->forward(tokens), hard = m->forward_hard_skip(tokens);
  EXPECT_LT(max_diff(soft.logits, hard.logits), 1e-4);
  // a block with no active token (layer 2 of this policy) leaves the residual exactly unchanged
  ASSERT_EQ(hard.residual_norms.size(), 4u);
  EXPECT_TRUE(torch::equal(hard.residual_norms[1], hard.residual_norms[2]));
  EXPECT_FALSE(torch::equal(hard.residual_norms[2], hard.residual_norms[3]));
}

TEST(HardSkip, NoneAndReferenceGatingKeepSkippedKeysVisibleAndEqualTheSoftPath) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {3, 8});
  for (auto ag : {AttentionGate::none, AttentionGate::reference}) {
    auto m = fixed_model(ag);
    auto soft = m->forward(tokens), hard = m->forward_hard_skip(tokens);
    EXPECT_LT(max_diff(soft.logits, hard.logits), 1e-5) << to_string(ag);
    // dropping the skipped keys (what key gating does) is a different model here
    auto k = fixed_model(AttentionGate::key)->forward_hard_skip(tokens);
    EXPECT_GT(max_diff(k.logits, hard.logits), 1e-3) << to_string(ag);
  }
  for (double s : {0.25, 0.5}) {
    auto m = forced(s, "none", 6, 1.0);
    EXPECT_LT(max_diff(m->forward(tokens).logits, m->forward_hard_skip(tokens).logits), 1e-5) << s;
  }
}

TEST(HardSkip, WorkCounterEqualsHandComputedPackedFlops) {
  torch::NoGradGuard ng;
  // small_model(4): dim 32, 4 heads of 8, kv heads = heads, FFN hidden from cfg.hidden()
  const auto cfg = small_model(4);
  const double d = cfg.dim, hd = cfg.dim / cfg.n_heads, H = cfg.n_heads, Hkv = cfg.kv_heads(), F = cfg.hidden();
  auto proj = [&](double nq, double nkv) { return 2 * nq * d * H * hd * 2 + 2 * nkv * d * Hkv * hd * 2; };
  auto ffn = [&](double n) { return 2 * n * 3 * d * F; };
  auto attn = [&](double pairs) { return 4 * pairs * H * hd; };
  // B = 3, T = 8. Layer 0 (ungated) and layer 3 is partly skipped, layer 1 partly, layer 2 skipped whole.
  // key gating: layer 0 dense (24 tokens, 3 x 8 x 8 pairs); layer 1: rows 8, 4, 1 active -> 13 tokens,
  // 64 + 16 + 1 pairs; layer 2: nothing; layer 3: rows 8, 6, 6 -> 20 tokens, 64 + 36 + 36 pairs.
  auto m = fixed_model(AttentionGate::key);
  m->forward_hard_skip(torch::randint(0, 32, {3, 8}));
  const auto& w = m->skip_work;
  EXPECT_DOUBLE_EQ(w.projections, proj(24, 24) + proj(13, 13) + proj(20, 20));
  EXPECT_DOUBLE_EQ(w.attention, attn(192) + attn(81) + attn(136));
  EXPECT_DOUBLE_EQ(w.ffn, ffn(24) + ffn(13) + ffn(20));
  EXPECT_EQ(w.computed, 24 + 13 + 0 + 20);
  EXPECT_EQ(w.possible, 4 * 24);
  EXPECT_DOUBLE_EQ(w.dense(), 4 * (proj(24, 24) + attn(192) + ffn(24)));
  // none gating: k and v of every token; each query sees every key up to its sequence's last active position
  // layer 1: row 0 keys 8, row 1 last active position 6 -> 7 keys, row 2 position 0 -> 1 key: 8*8 + 4*7 + 1*1;
  // layer 3: row 1 last active 7 (8 keys), row 2 last active 6 (7 keys): 8*8 + 6*8 + 6*7
  auto n = fixed_model(AttentionGate::none);
  n->forward_hard_skip(torch::randint(0, 32, {3, 8}));
  const auto& wn = n->skip_work;
  EXPECT_DOUBLE_EQ(wn.projections, proj(24, 24) + proj(13, 24) + proj(20, 24));
  EXPECT_DOUBLE_EQ(wn.attention, attn(192) + attn(64 + 28 + 1) + attn(64 + 48 + 42));
}

TEST(HardSkip, NoSkipIsTheSoftPathAndFullSkipIsTheEmbeddingPath) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {2, 12});
  auto m0 = forced(0.0);
  EXPECT_LT(max_diff(m0->forward(tokens).logits, m0->forward_hard_skip(tokens).logits), 1e-6);
  EXPECT_EQ(m0->skip_work.computed, m0->skip_work.possible);
  EXPECT_DOUBLE_EQ(m0->skip_work.executed(), m0->skip_work.dense());
  auto m1 = forced(1.0);
  auto hard = m1->forward_hard_skip(tokens);
  EXPECT_EQ(m1->skip_work.computed, 0);
  EXPECT_EQ(m1->skip_work.executed(), 0.0);
  auto h = m1->input_norm(m1->tok_embeddings(tokens));
  EXPECT_TRUE(torch::equal(hard.logits, m1->output(m1->output_norm(h))));
}

TEST(HardSkip, DenseModelAndLearnedSoftGatesAgree) {
  torch::NoGradGuard ng;
  auto tokens = torch::randint(0, 32, {2, 10});
  torch::manual_seed(3);
  auto dense = build_model(small_model(4), {"dense", {}});
  EXPECT_LT(max_diff(dense->forward(tokens).logits, dense->forward_hard_skip(tokens).logits), 1e-6);
  // learned gates strictly between 0 and 1 are applied as in the soft path
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
  for (double spread : {0.0, 1.0}) {
    for (double s : {0.0, 0.25, 0.5}) {
      auto m = build_model(cfg, {"forced_skip", {{"sparsity", s}, {"row_spread", spread}}});
      auto out = m->forward(torch::randint(0, 32, {3, 512}));
      const double realised = (torch::stack(out.gates) == 0).to(torch::kFloat64).mean().item<double>();
      EXPECT_NEAR(realised, s, 0.03) << s << " spread " << spread;
      // skipping is symmetric about the middle and monotone in the first half
      for (int l = 0; l < 6; ++l) EXPECT_TRUE(torch::equal(out.gates[l], out.gates[11 - l]));
      for (int l = 1; l < 6; ++l) EXPECT_TRUE((out.gates[l] <= out.gates[l - 1]).all().item<bool>());
    }
  }
  EXPECT_THROW(build_model(cfg, {"forced_skip", {{"row_spread", 2.0}}}), Error);
}

namespace {
// Loss and every parameter's gradient of one forward/backward (cross-entropy on random targets).
std::pair<double, std::vector<torch::Tensor>> loss_and_grads(Transformer& m, const torch::Tensor& tokens,
                                                              const torch::Tensor& targets) {
  for (auto& p : m->parameters()) p.mutable_grad() = torch::Tensor();
  auto out = m->forward(tokens);
  auto loss = torch::nn::functional::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}), targets.reshape({-1}));
  loss.backward();
  std::vector<torch::Tensor> grads;
  for (auto& p : m->parameters()) grads.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return {loss.item<double>(), grads};
}
double max_grad_diff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, max_diff(a[i], b[i]));
  return d;
}
}  // namespace

// Training-time skipping: the packed forward with gradients gives the soft path's loss and gradients. Measured
// differences: ~1e-8 (loss) and ~1e-7 (gradients) with key gating, where the soft path's 1e-6 weight on skipped keys
// is the only difference; none: float summation order only.
TEST(SkipCompute, LossAndGradientsEqualTheSoftPathWithMixedPerRowZeros) {
  auto tokens = torch::randint(0, 32, {3, 8});
  auto targets = torch::randint(0, 32, {3, 8});
  for (auto ag : {AttentionGate::key, AttentionGate::none}) {
    auto m = fixed_model(ag);
    m->train();
    auto [l_soft, g_soft] = loss_and_grads(m, tokens, targets);
    m->skip_compute = true;
    auto [l_skip, g_skip] = loss_and_grads(m, tokens, targets);
    EXPECT_NEAR(l_soft, l_skip, 1e-6) << to_string(ag);
    EXPECT_LT(max_grad_diff(g_soft, g_skip), 1e-6) << to_string(ag);
    // the work really shrank: 57 of 96 (token, block) pairs
    EXPECT_EQ(m->skip_work.computed, 57);
  }
}

TEST(SkipCompute, LearnedGatesWithExactZerosGiveTheSoftPathsGradientsIncludingTheGates) {
  torch::manual_seed(21);
  auto m = build_model(small_model(4), {"skip_middle", {}});
  m->train();
  {  // make the first soft mask large for some tokens and zero for others: exact zeros in g_0 and g_1, row by row
    torch::NoGradGuard ng;
    auto sm = std::dynamic_pointer_cast<SkipMiddleGates>(m->gates);
    ASSERT_TRUE(sm);
    auto* lin = sm->masks[0]->as<torch::nn::Linear>();
    lin->weight.normal_(0, 0.6);
    lin->bias.fill_(0.5);
  }
  auto tokens = torch::randint(0, 32, {4, 16});
  auto targets = torch::randint(0, 32, {4, 16});
  auto out = m->forward(tokens);
  auto g0 = out.gates[0];
  const auto zeros = (g0 == 0).sum(1);  // per row
  ASSERT_GT((g0 == 0).sum().item<int64_t>(), 0) << "no exact zero: the test would compare equal paths";
  ASSERT_GT((g0 > 0).sum().item<int64_t>(), 0);
  EXPECT_GT(zeros.max().item<int64_t>(), zeros.min().item<int64_t>()) << "rows should differ in their counts";
  auto [l_soft, g_soft] = loss_and_grads(m, tokens, targets);
  m->skip_compute = true;
  auto [l_skip, g_skip] = loss_and_grads(m, tokens, targets);
  EXPECT_NEAR(l_soft, l_skip, 1e-6);
  EXPECT_LT(max_grad_diff(g_soft, g_skip), 1e-6);
  EXPECT_LT(m->skip_work.computed, m->skip_work.possible);
}
