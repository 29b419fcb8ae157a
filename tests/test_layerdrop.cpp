// test_layerdrop.cpp: the `layerdrop` variant (variants/layerdrop.cpp) and early exit. Its defining properties:
// rate 0 without exits is the dense model; a dropped (sequence, block) passes its residual through unchanged; the
// realised drop rates follow LayerSkip's rising schedule and are a reproducible function of the draw; the exits use
// the model's own output norm and head (no new weights; an exit's loss reaches only the blocks before it); real
// skipping of dropped rows (train.skip_compute) computes the same function; evaluation at every exit depth equals
// evaluating the truncated model; training resumes bit-identically and counts the exit heads' FLOPs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include <cmath>
#include <fstream>
#include <set>
#include <string>

#include "harness/data/loader.h"
#include "harness/data/shard.h"
#include "harness/model/flops.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/evaluate.h"
#include "harness/train/trainer.h"
#include "tests/model_test_util.h"
#include "tests/test_util.h"
#include "variants/layerdrop.h"

using namespace skipbench;
using skipbench::testing::TempDir;

namespace {
Transformer layerdrop(const ModelConfig& cfg, boost::json::object opts, uint64_t seed = 7) {
  torch::manual_seed(seed);
  return build_model(cfg, PluginConfig{"layerdrop", std::move(opts)});
}
torch::Tensor tokens(int64_t B, int64_t T, int64_t vocab) { return skipbench::testing::random_tokens(B, T, vocab, 99); }
Config with_options(Config cfg, boost::json::object opts) {
  auto j = cfg.resolved;
  j["variant"].as_object()["options"] = std::move(opts);
  return config_from_json(j, "test");
}
}  // namespace

TEST(LayerDrop, RatesAndExitWeightsFollowLayerSkipsFormulas) {
  // exponential: p_l = p_max (2^(l/(L-1)) - 1); L = 4, p_max = 0.2: 0, 0.2 (2^(1/3) - 1), 0.2 (2^(2/3) - 1), 0.2
  const auto e = layerdrop_rates(4, 0.2, "exponential");
  ASSERT_EQ(e.size(), 4u);
  EXPECT_DOUBLE_EQ(e[0], 0.0);
  EXPECT_NEAR(e[1], 0.2 * 0.2599210498948732, 1e-12);
  EXPECT_NEAR(e[2], 0.2 * 0.5874010519681994, 1e-12);
  EXPECT_NEAR(e[3], 0.2, 1e-12);
  EXPECT_NEAR(layerdrop_rates(4, 0.3, "linear")[1], 0.1, 1e-12);
  EXPECT_EQ(layerdrop_rates(3, 0.3, "uniform"), (std::vector<double>{0.3, 0.3, 0.3}));
  // e_l = scale (0 + 1 + ... + l) for exits, L - 1 for the last: 0, 0.1, 0.3, 3 -> divided by 3.4
  const auto w = layerskip_exit_weights(4, {0, 1, 2}, 0.1);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 0.0);
  EXPECT_NEAR(w[1], 0.1 / 3.4, 1e-12);
  EXPECT_NEAR(w[2], 0.3 / 3.4, 1e-12);
  EXPECT_NEAR(w[3], 3.0 / 3.4, 1e-12);
  EXPECT_EQ(layerskip_exit_weights(4, {1}, 0.0), (std::vector<double>{0.0, 1.0}));
}

TEST(LayerDrop, RateZeroWithoutExitsIsTheDenseModelAndAddsNoWeights) {
  const auto cfg = skipbench::testing::small_model(4);
  auto ld = layerdrop(cfg, {{"p_max", 0.0}, {"exit_scale", 0.0}});
  torch::manual_seed(7);
  auto dense = build_model(cfg, PluginConfig{"dense", {}});
  const auto a = ld->named_parameters(), b = dense->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key(), b[i].key());
    EXPECT_TRUE(torch::equal(a[i].value(), b[i].value())) << a[i].key();
  }
  ld->train();
  dense->train();
  const auto x = tokens(3, cfg.max_seq_len, cfg.vocab_size);
  const auto out = ld->forward(x);
  EXPECT_TRUE(out.exit_logits.empty());
  EXPECT_TRUE(torch::allclose(out.logits, dense->forward(x).logits, 0, 1e-6));
}

TEST(LayerDrop, ADroppedSequenceSkipsTheBlockAndEvaluationDropsNothing) {
  const auto cfg = skipbench::testing::small_model(4);
  auto ld = layerdrop(cfg, {{"p_max", 1.0}, {"schedule", "uniform"}, {"exit_scale", 0.0}});
  torch::manual_seed(7);
  auto dense = build_model(cfg, PluginConfig{"dense", {}});
  const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
  torch::NoGradGuard ng;
  ld->train();
  // every block dropped: the logits are the head applied to the normed embedding
  const auto skipped = ld->output(ld->output_norm(ld->input_norm(ld->tok_embeddings(x))));
  EXPECT_TRUE(torch::allclose(ld->forward(x).logits, skipped, 0, 1e-6));
  ld->eval();
  dense->eval();
  const auto out = ld->forward(x);
  EXPECT_TRUE(out.gates.empty());
  EXPECT_TRUE(torch::allclose(out.logits, dense->forward(x).logits, 0, 1e-6));
}

TEST(LayerDrop, RealisedRatesFollowTheScheduleWholeSequencesDropAndDrawsAreReproducible) {
  const auto cfg = skipbench::testing::small_model(4);
  auto ld = layerdrop(cfg, {{"p_max", 0.6}, {"schedule", "linear"}, {"exit_scale", 0.0}});
  ld->train();
  torch::NoGradGuard ng;
  const auto x = tokens(64, cfg.max_seq_len, cfg.vocab_size);
  std::vector<double> dropped(4, 0.0);
  const int draws = 50;
  for (int k = 0; k < draws; ++k) {
    ld->gates->draw = k;
    const auto out = ld->forward(x);
    ASSERT_EQ(out.gates.size(), 4u);
    for (int64_t l = 0; l < 4; ++l) {
      const auto& g = out.gates[l];
      // one draw per (sequence, block): every token of a sequence has its first token's gate
      EXPECT_TRUE(torch::equal(g, g.select(1, 0).unsqueeze(1).expand_as(g)));
      dropped[l] += (g.select(1, 0) == 0).to(torch::kFloat64).mean().item<double>() / draws;
    }
  }
  // 3,200 (sequence, block) draws per block: the binomial standard deviation is below 0.009
  const auto want = layerdrop_rates(4, 0.6, "linear");
  for (int64_t l = 0; l < 4; ++l) EXPECT_NEAR(dropped[l], want[l], 0.035) << "block " << l;
  EXPECT_EQ(dropped[0], 0.0);
  ld->gates->draw = 3;
  const auto g1 = ld->forward(x).gates[3];
  const auto g2 = ld->forward(x).gates[3];
  ld->gates->draw = 4;
  const auto g3 = ld->forward(x).gates[3];
  EXPECT_TRUE(torch::equal(g1, g2));
  EXPECT_FALSE(torch::equal(g1, g3));
}

TEST(LayerDrop, ExitsUseTheSharedHeadAndAnExitsLossReachesOnlyTheBlocksBeforeIt) {
  const auto cfg = skipbench::testing::small_model(4);
  auto ld = layerdrop(cfg, {{"p_max", 0.0}, {"exit_scale", 0.1}, {"exit_stride", 1}});
  EXPECT_EQ(ld->exit_layers, (std::vector<int64_t>{0, 1, 2}));
  ld->train();
  const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
  const auto out = ld->forward(x);
  ASSERT_EQ(out.exit_logits.size(), 3u);
  for (int64_t d = 1; d <= 3; ++d) {
    torch::NoGradGuard ng;
    ld->depth = d;  // the model truncated after d blocks, through the same output norm and head
    EXPECT_TRUE(torch::allclose(out.exit_logits[d - 1], ld->forward(x).logits, 0, 1e-6)) << d;
  }
  ld->depth = 0;
  // the first exit's loss: gradients reach block 0, the shared norm and head, never blocks 1..3
  ld->zero_grad();
  out.exit_logits[0].logsumexp(-1).mean().backward();
  EXPECT_GT(ld->output->weight.grad().abs().sum().item<double>(), 0);
  EXPECT_GT(ld->blocks[0]->attention->wq->weight.grad().abs().sum().item<double>(), 0);
  for (int64_t l = 1; l < 4; ++l) {
    const auto& gr = ld->blocks[l]->attention->wq->weight.grad();
    EXPECT_TRUE(!gr.defined() || gr.abs().sum().item<double>() == 0) << l;
  }
  // in evaluation no exit is computed unless asked for
  ld->eval();
  torch::NoGradGuard ng;
  EXPECT_TRUE(ld->forward(x).exit_logits.empty());
  ld->all_exits = true;
  EXPECT_EQ(ld->forward(x).exit_logits.size(), 3u);
}

TEST(LayerDrop, RealSkippingOfDroppedRowsComputesTheSameFunctionAndLessWork) {
  const auto cfg = skipbench::testing::small_model(4);
  auto ld = layerdrop(cfg, {{"p_max", 0.5}, {"schedule", "uniform"}, {"exit_scale", 0.0}});
  ld->train();
  torch::NoGradGuard ng;
  const auto x = tokens(8, cfg.max_seq_len, cfg.vocab_size);
  ld->gates->draw = 11;
  const auto soft = ld->forward(x);
  ld->skip_compute = true;
  const auto hard = ld->forward(x);
  EXPECT_TRUE(torch::allclose(soft.logits, hard.logits, 1e-5, 1e-5));
  double zeros = 0;
  for (const auto& g : soft.gates) zeros += (g == 0).sum().item<double>();
  const auto& w = ld->skip_work;
  EXPECT_GT(zeros, 0);
  EXPECT_EQ(w.possible, 4 * 8 * cfg.max_seq_len);
  EXPECT_EQ(static_cast<double>(w.possible - w.computed), zeros);  // exactly the dropped pairs were not computed
  EXPECT_LT(w.executed(), w.dense());
}

TEST(LayerDrop, EvaluationAtEveryExitDepthEqualsEvaluatingTheTruncatedModel) {
  TempDir d;
  const auto cfg = skipbench::testing::small_run_config(d, "layerdrop", 1);
  auto m = build_model(cfg.model, cfg.variant);
  data::TokenLoader loader(d.file("val_*.bin"), "val", cfg.model.vocab_size, 4, cfg.model.max_seq_len);
  EvalOptions eo;
  eo.max_batches = 3;
  eo.exits = true;
  const auto r = evaluate(m, loader, cfg, torch::kCPU, eo);
  ASSERT_EQ(r.exit_loss.size(), 4u);
  EXPECT_EQ(r.exit_loss.back(), r.loss);
  EXPECT_FALSE(m->all_exits);  // restored
  EvalOptions plain;
  plain.max_batches = 3;
  for (int64_t depth = 1; depth <= 4; ++depth) {
    m->depth = depth;
    EXPECT_NEAR(evaluate(m, loader, cfg, torch::kCPU, plain).loss, r.exit_loss[depth - 1], 1e-6) << depth;
  }
  m->depth = 0;
  EXPECT_NE(r.exit_loss[0], r.exit_loss[3]);
}

TEST(LayerDrop, TrainingResumesBitIdenticallyAndCountsTheExitHeadsFlops) {
  TempDir d;
  Config cfg = with_options(skipbench::testing::small_run_config(d, "layerdrop", 8),
                            {{"p_max", 0.5}, {"exit_scale", 0.2}, {"exit_stride", 1}});
  cfg.train.checkpoint_every = 3;
  const auto whole = train(cfg, d.file("whole"));
  ASSERT_EQ(whole.status, "completed");
  TrainOptions kill;
  kill.stop_after_steps = 5;
  ASSERT_EQ(train(cfg, d.file("resumed"), kill).status, "interrupted");
  const auto resumed = train(cfg, d.file("resumed"));
  EXPECT_EQ(resumed.train_loss, whole.train_loss);
  EXPECT_EQ(resumed.val_loss, whole.val_loss);

  // FLOPs: with p_max = 0 the blocks cost what dense blocks cost; the three exit heads add 3 x 3 x 2 d V per token
  Config no_drop = with_options(skipbench::testing::small_run_config(d, "layerdrop", 8),
                                {{"p_max", 0.0}, {"exit_scale", 0.2}, {"exit_stride", 1}});
  const auto nd = train(no_drop, d.file("nodrop"));
  const auto dn = train(skipbench::testing::small_run_config(d, "dense", 8), d.file("dense"));
  auto train_flops = [](const TrainResult& r) {
    return r.report.at("flops").at("training_total").at("standard").to_number<double>();
  };
  const auto& m = cfg.model;
  const double tokens = 8.0 * 8 * m.max_seq_len;
  EXPECT_NEAR(train_flops(nd) - train_flops(dn), 3 * 3 * 2.0 * m.dim * m.vocab_size * tokens, 1e-6 * train_flops(dn));
  // dropping half of the blocks' rows (exponential: mean rate below p_max) costs fewer block FLOPs
  EXPECT_LT(train_flops(whole), train_flops(nd));
  EXPECT_NE(whole.train_loss, nd.train_loss);
  // each step draws anew: the realised drop fraction of the last block varies over the steps
  std::ifstream in(d.file("whole/metrics.jsonl"));
  std::set<double> last_block;
  int with_exit_loss = 0;
  for (std::string line; std::getline(in, line);) {
    const auto o = boost::json::parse(line).as_object();
    if (o.at("kind") != "train") continue;
    last_block.insert(o.at("gates").at("zero_fraction").as_array().back().to_number<double>());
    with_exit_loss += o.contains("exit_loss");
  }
  EXPECT_GT(last_block.size(), 2u);
  EXPECT_EQ(with_exit_loss, 8);
  // the exit loss is part of the objective: without it (exit_scale 0) the same run trains differently
  Config no_exit = with_options(skipbench::testing::small_run_config(d, "layerdrop", 8),
                                {{"p_max", 0.0}, {"exit_scale", 0.0}});
  EXPECT_NE(train(no_exit, "").train_loss, nd.train_loss);
}
