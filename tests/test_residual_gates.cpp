// test_residual_gates.cpp: the `residual_gates` variant (variants/residual_gates.cpp, GateSkip), against a direct
// computation from its weights: open gates with no rule are the dense model; the soft path is
// x + m_attn * PostNorm(Attn(PreNorm x)), then the same for the FFN with its own gate; a skipped branch adds nothing
// (all skipped: the logits of the embedding alone); real skipping equals the soft path with the rule and executes
// exactly the active (token, branch) pairs; the budget rule keeps each sequence's k top-scoring tokens; the penalty
// is the mean squared gate; gradients reach every gate; skipped branches become block sparsity at their FLOPs
// shares; training records the full-compute validation loss beside the rule's.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/model/flops.h"
#include "harness/model/rope.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/gate_stats.h"
#include "harness/train/trainer.h"
#include "tests/model_test_util.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;

namespace {
Transformer rg(const ModelConfig& cfg, boost::json::object opts) {
  torch::manual_seed(5);
  return build_model(cfg, PluginConfig{"residual_gates", std::move(opts)});
}
torch::Tensor tokens(int64_t B, int64_t T, int64_t vocab) { return skipbench::testing::random_tokens(B, T, vocab); }
torch::Tensor param(Transformer& m, const std::string& name) { return skipbench::testing::param_of(m, name); }
// spreads the gate scores around sigmoid(0) = 0.5 so that a threshold of 0.5 splits the tokens
void spread_gates(Transformer& m, double std) {
  torch::NoGradGuard ng;
  torch::manual_seed(9);
  for (auto& p : m->named_parameters())
    if (p.key().rfind("gates.branches.", 0) == 0) {
      if (p.key().find(".weight") != std::string::npos) p.value().normal_(0.0, std);
      else p.value().zero_();
    }
}
RopeTables rope_of(const ModelConfig& c) { return rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta, torch::kCPU); }
}  // namespace

TEST(ResidualGates, OpenGatesWithNoRuleAreTheDenseModel) {
  const auto cfg = skipbench::testing::small_model(2);
  auto m = rg(cfg, {{"bias_init", 40.0}, {"rule", "none"}});  // sigmoid(40) = 1 in fp32
  torch::manual_seed(1);
  auto d = build_model(cfg, PluginConfig{"dense", {}});
  {
    torch::NoGradGuard ng;
    for (auto& p : d->named_parameters()) p.value().copy_(param(m, p.key()));
  }
  m->eval(), d->eval();
  torch::NoGradGuard ng;
  const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
  const auto out = m->forward(x);
  EXPECT_TRUE(torch::allclose(out.logits, d->forward(x).logits, 1e-6, 1e-6));
  ASSERT_EQ(out.branch_scores.size(), 4u);  // 2 branches x 2 blocks
  EXPECT_TRUE(out.branch_computed.empty());  // no rule
  EXPECT_TRUE(out.gates.empty());            // no block gates
}

TEST(ResidualGates, TheSoftPathGatesEachBranchFromTheResidualEnteringIt) {
  for (const char* kind : {"vector", "scalar"}) {
    for (const char* norm : {"sandwich", "pre"}) {
      auto cfg = skipbench::testing::small_model(1);
      cfg.norm = norm;
      auto m = rg(cfg, {{"gate", kind}, {"rule", "none"}});
      spread_gates(m, 0.5);
      m->eval();
      torch::NoGradGuard ng;
      const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
      auto& b = m->blocks[0];
      const bool sandwich = std::string(norm) == "sandwich";
      auto gate = [&](int i, const torch::Tensor& r) {
        const auto w = param(m, "gates.branches." + std::to_string(i) + ".weight");
        const auto bias = param(m, "gates.branches." + std::to_string(i) + ".bias");
        return torch::sigmoid(torch::matmul(r, w.t()) + bias);
      };
      const auto x0 = m->embed(x);
      auto ya = b->attention(b->pre_attention_norm(x0), rope_of(cfg), torch::Tensor(), AttentionGate::none);
      if (sandwich) ya = b->post_attention_norm(ya);
      const auto h = x0 + gate(0, x0) * ya;
      auto yf = b->feed_forward(b->pre_feed_forward_norm(h));
      if (sandwich) yf = b->post_feed_forward_norm(yf);
      const auto want = m->head(h + gate(1, h) * yf);
      const auto out = m->forward(x);
      EXPECT_TRUE(torch::allclose(out.logits, want, 1e-5, 1e-5)) << kind << " " << norm;
      // the score is the mean of the gate vector
      EXPECT_TRUE(torch::allclose(out.branch_scores[0], gate(0, x0).mean(-1), 1e-6, 1e-6)) << kind;
    }
  }
}

TEST(ResidualGates, ASkippedBranchAddsNothing) {
  const auto cfg = skipbench::testing::small_model(2);
  auto m = rg(cfg, {{"rule", "threshold"}, {"threshold", 1.0}});  // no score reaches 1: every branch skipped
  m->eval();
  torch::NoGradGuard ng;
  const auto x = tokens(3, cfg.max_seq_len, cfg.vocab_size);
  const auto want = m->head(m->embed(x));
  const auto soft = m->forward(x);
  EXPECT_TRUE(torch::equal(soft.logits, want));
  for (const auto& c : soft.branch_computed) EXPECT_EQ(c.sum().item<float>(), 0.0f);
  const auto hard = m->forward_hard_skip(x);
  EXPECT_TRUE(torch::equal(hard.logits, want));
  EXPECT_EQ(m->skip_work.computed, 0);
  EXPECT_EQ(m->skip_work.possible, 2 * 2 * 3 * cfg.max_seq_len);
  EXPECT_EQ(m->skip_work.executed(), 0.0);
}

TEST(ResidualGates, RealSkippingEqualsTheSoftPathWithTheRuleAndRunsOnlyTheActiveBranches) {
  for (const char* rule : {"threshold", "budget"}) {
    const auto cfg = skipbench::testing::small_model(3);
    auto m = rg(cfg, {{"rule", rule}, {"threshold", 0.5}, {"budget", 0.5}});
    spread_gates(m, 0.5);
    m->eval();
    torch::NoGradGuard ng;
    const int64_t B = 3, T = cfg.max_seq_len;
    const auto x = tokens(B, T, cfg.vocab_size);
    const auto soft = m->forward(x);
    const auto hard = m->forward_hard_skip(x);
    EXPECT_TRUE(torch::allclose(soft.logits, hard.logits, 1e-5, 1e-5)) << rule;
    ASSERT_EQ(soft.branch_computed.size(), 6u);
    int64_t active = 0, ffn_active = 0;
    bool mixed = false;
    for (size_t i = 0; i < soft.branch_computed.size(); ++i) {
      EXPECT_TRUE(torch::equal(soft.branch_computed[i], hard.branch_computed[i]));
      const auto n = static_cast<int64_t>(soft.branch_computed[i].sum().item<float>());
      active += n;
      if (i % 2 == 1) ffn_active += n;
      mixed = mixed || (n > 0 && n < B * T);
    }
    EXPECT_TRUE(mixed) << rule << ": the test needs branches with some tokens skipped and some not";
    EXPECT_EQ(m->skip_work.computed, active);
    EXPECT_EQ(m->skip_work.possible, 2 * 3 * B * T);
    // the FFN ran on exactly the active tokens: 2 x 3 x dim x hidden FLOPs each (32 x 128)
    EXPECT_DOUBLE_EQ(m->skip_work.ffn, static_cast<double>(ffn_active) * 2 * 3 * 32 * 128);
    EXPECT_LT(m->skip_work.executed(), m->skip_work.dense());
  }
}

TEST(ResidualGates, TheBudgetKeepsEachSequencesTopScoringTokens) {
  const auto cfg = skipbench::testing::small_model(2);  // T = 16: budget 0.25 -> 4 tokens per sequence
  auto m = rg(cfg, {{"rule", "budget"}, {"budget", 0.25}});
  spread_gates(m, 0.5);
  m->eval();
  torch::NoGradGuard ng;
  const auto out = m->forward(tokens(3, cfg.max_seq_len, cfg.vocab_size));
  for (size_t i = 0; i < out.branch_computed.size(); ++i) {
    const auto& keep = out.branch_computed[i];
    EXPECT_TRUE(torch::equal(keep.sum(1), torch::full({3}, 4.0f)));
    const auto s = out.branch_scores[i];
    const auto kept_min = torch::where(keep > 0, s, torch::full_like(s, 2.0)).amin(1);
    const auto skipped_max = torch::where(keep > 0, torch::full_like(s, -1.0), s).amax(1);
    EXPECT_TRUE((kept_min >= skipped_max).all().item<bool>());
  }
}

TEST(ResidualGates, ThePenaltyIsTheMeanSquaredGateAndGradientsReachEveryGate) {
  const auto cfg = skipbench::testing::small_model(2);
  auto m = rg(cfg, {{"gate", "scalar"}, {"sparsity_weight", 0.3}});
  spread_gates(m, 0.5);
  m->train();
  const auto out = m->forward(tokens(2, cfg.max_seq_len, cfg.vocab_size));
  EXPECT_TRUE(out.branch_computed.empty());  // training: soft gates, no rule
  ASSERT_EQ(out.aux_losses.size(), 4u);
  // scalar gates: the score is the gate itself, so the penalty is 0.3 / 4 x sum over branches of mean(score^2)
  double want = 0, got = 0;
  for (const auto& s : out.branch_scores) want += 0.3 / 4.0 * s.pow(2).mean().item<double>();
  torch::Tensor aux = out.aux_losses[0];
  for (size_t i = 1; i < out.aux_losses.size(); ++i) aux = aux + out.aux_losses[i];
  got = aux.item<double>();
  EXPECT_NEAR(got, want, 1e-7);
  auto loss = torch::nn::functional::cross_entropy(out.logits.flatten(0, 1),
                                                   tokens(2, cfg.max_seq_len, cfg.vocab_size).flatten()) + aux;
  loss.backward();
  for (int i = 0; i < 4; ++i) {
    const auto g = param(m, "gates.branches." + std::to_string(i) + ".weight").grad();
    ASSERT_TRUE(g.defined()) << i;
    EXPECT_GT(g.abs().sum().item<double>(), 0.0) << i;
  }
}

TEST(ResidualGates, SkippedBranchesBecomeBlockSparsityAtTheirFlopsShares) {
  // small_model: dim 32, 4 heads of 8, 2 kv heads, FFN 128, T 16; per token: q and o 4096, k and v 2048,
  // scores and values 4 x 16 x 32 = 2048, FFN 6 x 32 x 128 = 24576, block 32768: attention skip saves
  // (4096 + 2048) / 32768 = 0.1875, FFN skip 24576 / 32768 = 0.75
  const auto cfg = skipbench::testing::small_model(1);
  const auto sh = branch_skip_shares(cfg);
  EXPECT_DOUBLE_EQ(sh.first, 0.1875);
  EXPECT_DOUBLE_EQ(sh.second, 0.75);
  ForwardOutput out;
  out.logits = torch::zeros({1, 4, 2});
  out.branch_saving = sh;
  out.branch_scores = {torch::full({1, 4}, 0.5f), torch::full({1, 4}, 0.5f)};
  out.branch_computed = {torch::tensor({{1.0f, 0.0f, 0.0f, 1.0f}}), torch::tensor({{1.0f, 1.0f, 1.0f, 0.0f}})};
  GateStatsAccumulator st(1, 1e-6);
  st.add(out);
  EXPECT_DOUBLE_EQ(st.branch_skipped()[0], 0.5);
  EXPECT_DOUBLE_EQ(st.branch_skipped()[1], 0.25);
  EXPECT_DOUBLE_EQ(st.zero_fraction()[0], 0.1875 * 0.5 + 0.75 * 0.25);
  // and the estimator then charges the block (1 - that) of its dense FLOPs
  const auto dense = estimate_flops(cfg, false, {}, FlopsMode::standard);
  const auto sparse = estimate_flops(cfg, false, st.zero_fraction(), FlopsMode::standard);
  const double head = 2.0 * 16 * 32 * 32;
  EXPECT_NEAR(sparse.forward_per_sequence - head, (1 - 0.28125) * (dense.forward_per_sequence - head), 1e-6);
}

TEST(ResidualGates, TrainingRecordsTheFullComputeLossBesideTheRulesAndCountsTheGates) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "residual_gates", 4);
  {
    auto j = cfg.resolved;
    j["variant"].as_object()["options"] = boost::json::object{{"rule", "budget"}, {"budget", 0.5}};
    cfg = config_from_json(j, "test");
  }
  const auto r = train(cfg, d.file("run"));
  ASSERT_EQ(r.status, "completed");
  const auto& fin = r.report.at("final").as_object();
  ASSERT_TRUE(fin.contains("val_loss_full_compute"));
  EXPECT_NE(fin.at("val_loss_full_compute").as_double(), fin.at("val_loss").as_double());
  // half of every branch skipped at validation: block sparsity 0.5 x (0.1875 + 0.75) on every block
  const auto& inf = r.report.at("flops").at("inference_at_val_sparsity").at("standard");
  EXPECT_NEAR(inf.at("mean_sparsity").to_number<double>(), 0.5 * (0.1875 + 0.75), 1e-9);
  // the gate linears (4 blocks x 2 branches x 32 -> 32, 2 FLOPs per multiply-add) per token
  EXPECT_DOUBLE_EQ(inf.at("components_per_sequence").at("policy").to_number<double>(), 4 * 2 * 2.0 * 32 * 32 * 16);
}
