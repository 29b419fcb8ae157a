// test_training.cpp: a complete tiny training run (its validation loss falls, its report is complete), seeded
// determinism, gradient accumulation equivalence, and the sparsity controller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/registry/gate_controller.h"
#include "harness/train/trainer.h"
#include "harness/metrics/run_report.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;

TEST(Training, ThirtyStepTinyRunLowersValidationLossAndWritesReport) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 30);
  auto r = train(cfg, d.file("run"));
  ASSERT_EQ(r.status, "completed");
  ASSERT_EQ(r.train_loss.size(), 30u);
  ASSERT_EQ(r.val_steps, (std::vector<int64_t>{10, 20, 30}));
  // untrained loss is about ln(32) = 3.47; the patterned data is easy
  EXPECT_LT(r.val_loss.back(), r.val_loss.front());
  EXPECT_LT(r.val_loss.back(), std::log(32.0) - 1.0);
  auto rep = read_run_report(d.file("run/run.json"));
  EXPECT_EQ(rep.at("status"), "completed");
  for (const char* k : {"config", "seed", "provenance", "train_curve", "val_curve", "gates", "flops", "timing"})
    EXPECT_TRUE(rep.contains(k)) << k;
  EXPECT_EQ(rep.at("gates").at("val").at("gate_mean").as_array().size(), 4u);
  EXPECT_TRUE(rep.at("provenance").at("git").as_object().contains("commit"));
  EXPECT_GT(rep.at("timing").at("tokens_per_s").to_number<double>(), 0.0);
  EXPECT_TRUE(fs::exists(d.file("run/metrics.jsonl")));
  // the report's config has every default explicit and rebuilds the same run
  Config again = config_from_json(rep.at("config").as_object(), "run.json");
  EXPECT_EQ(again.variant.options.at("attention_gate"), "key");
  EXPECT_EQ(again.train.masks_group.lr, cfg.train.masks_group.lr);
  EXPECT_EQ(again.model.n_layers, cfg.model.n_layers);
  EXPECT_FALSE(fs::exists(d.file("run/run.json.tmp")));
}

TEST(Training, SameSeedGivesBitIdenticalLossesOtherSeedDoesNot) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 6);
  auto a = train(cfg, "");
  auto b = train(cfg, "");
  EXPECT_EQ(a.train_loss, b.train_loss);  // exact equality, not a tolerance
  EXPECT_EQ(a.val_loss, b.val_loss);
  cfg.train.seed = 1;
  auto c = train(cfg, "");
  EXPECT_NE(a.train_loss, c.train_loss);
}

TEST(Training, GradientAccumulationMatchesOneLargeBatch) {
  TempDir d;
  Config one = skipbench::testing::small_run_config(d, "dense", 3);
  one.train.batch_size = 8;
  one.train.micro_batch_size = 8;
  Config four = one;
  four.train.micro_batch_size = 2;  // same 8 sequences per step, in 4 micro-batches
  auto a = train(one, ""), b = train(four, "");
  ASSERT_EQ(a.train_loss.size(), b.train_loss.size());
  for (size_t i = 0; i < a.train_loss.size(); ++i) EXPECT_NEAR(a.train_loss[i], b.train_loss[i], 1e-4) << i;
}

TEST(Training, NothingIsWrittenWhenTheInputIsBad) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 2);
  cfg.model.n_layers = 5;  // odd: refused by skip_middle
  EXPECT_THROW(train(cfg, d.file("odd")), Error);
  EXPECT_FALSE(fs::exists(d.file("odd")));
  cfg = skipbench::testing::small_run_config(d, "skip_middle", 2);
  cfg.data.val = d.file("none_*.bin");
  EXPECT_THROW(train(cfg, d.file("nodata")), Error);
  EXPECT_FALSE(fs::exists(d.file("nodata")));
  cfg = skipbench::testing::small_run_config(d, "skip_middle", 2);
  cfg.train.controller = {"sparsity", {{"coef", boost::json::array{1.0, 2.0}}}};  // needs 1 or L values
  EXPECT_THROW(train(cfg, d.file("coef")), Error);
  EXPECT_FALSE(fs::exists(d.file("coef")));
}

TEST(SparsityController, LossIsCoefficientTimesMeanGateAveragedOverLayers) {
  auto ctl = build_controller(4, {"sparsity", {{"coef", boost::json::array{0.1, 0.2, 0.3, 0.4}}}});
  std::vector<torch::Tensor> gates = {torch::full({2, 3}, 1.0), torch::full({2, 3}, 0.5), torch::full({2, 3}, 0.5),
                                      torch::tensor({{0.0, 1.0, 0.5}, {0.5, 0.5, 0.5}})};
  // (0.1*1 + 0.2*0.5 + 0.3*0.5 + 0.4*0.5) / 4 = 0.1375
  EXPECT_NEAR(ctl->loss(gates).item<double>(), 0.1375, 1e-6);
  auto none = build_controller(4, {"none", {}});
  EXPECT_EQ(none->loss(gates).item<double>(), 0.0);
  EXPECT_THROW(build_controller(4, {"sparsity", {{"coeff", 1.0}}}), Error);
  EXPECT_THROW(build_controller(4, {"pid", {}}), Error);
}

TEST(SparsityController, PenaltyTrainsGatesTowardsZero) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 20);
  auto free_run = train(cfg, "");
  cfg.train.controller = {"sparsity", {{"coef", 1.0}}};
  auto penalised = train(cfg, "");
  auto mean_gate = [](const TrainResult& r) {
    double s = 0;
    for (const auto& g : r.report.at("gates").at("val").at("gate_mean").as_array()) s += g.to_number<double>();
    return s / 4;
  };
  EXPECT_LT(mean_gate(penalised), mean_gate(free_run) - 0.05);
  EXPECT_GT(penalised.report.at("gates").at("val").at("sparsity").to_number<double>(), 0.0);
}

TEST(Resume, AnInterruptedRunResumesBitIdenticallyFromItsLastCheckpoint) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 12);
  cfg.train.checkpoint_every = 3;
  cfg.train.val_every = 4;
  cfg.train.controller = {"proportional", {{"mean_target_start", 0.9}, {"mean_target_end", 0.5},
                                            {"coef_update_multiplier", 0.5}}};
  auto whole = train(cfg, d.file("whole"));
  TrainOptions kill;
  kill.stop_after_steps = 7;  // dies after step 7; the last checkpoint is after step 6
  auto first = train(cfg, d.file("resumed"), kill);
  ASSERT_EQ(first.status, "interrupted");
  EXPECT_TRUE(fs::exists(d.file("resumed/checkpoint/state.json")));
  EXPECT_FALSE(fs::exists(d.file("resumed/run.json")));
  auto second = train(cfg, d.file("resumed"));
  ASSERT_EQ(second.status, "completed");
  EXPECT_EQ(second.train_loss, whole.train_loss);  // bit-identical, steps before and after the checkpoint
  EXPECT_EQ(second.val_loss, whole.val_loss);
  EXPECT_EQ(second.report.at("resumed_from_step").as_int64(), 6);
  EXPECT_EQ(boost::json::serialize(second.report.at("controller").at("final_state")),
            boost::json::serialize(whole.report.at("controller").at("final_state")));
  // metrics.jsonl holds each step once
  std::ifstream in(d.file("resumed/metrics.jsonl"));
  std::string line;
  std::vector<int64_t> steps;
  while (std::getline(in, line)) {
    auto o = boost::json::parse(line).as_object();
    if (o.at("kind") == "train") steps.push_back(o.at("step").as_int64());
  }
  std::vector<int64_t> expect(12);
  for (int i = 0; i < 12; ++i) expect[i] = i;
  EXPECT_EQ(steps, expect);
  EXPECT_FALSE(fs::exists(d.file("resumed/checkpoint")));  // removed once the run is complete
  // a finished run is never re-run; a checkpoint of another config is refused
  EXPECT_THROW(train(cfg, d.file("resumed")), Error);
  train(cfg, d.file("other"), kill);
  Config changed = cfg;
  changed.resolved["train"].as_object()["seed"] = 5;
  changed.train.seed = 5;
  EXPECT_THROW(train(changed, d.file("other")), Error);
}

// The previous checkpoint is kept: when the latest is damaged (its weights truncated), the run resumes from the one
// before, says so, and still ends bit-identical to an uninterrupted run; with both damaged it is one clear error.
TEST(Resume, ADamagedLatestCheckpointFallsBackToThePreviousOne) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 12);
  cfg.train.checkpoint_every = 3;
  cfg.train.val_every = 4;
  auto whole = train(cfg, d.file("whole"));
  TrainOptions kill;
  kill.stop_after_steps = 7;  // checkpoints after steps 3 and 6
  for (const char* dir : {"one", "both"}) ASSERT_EQ(train(cfg, d.file(dir), kill).status, "interrupted");
  auto state_of = [&](const std::string& f) { return read_json_file(f).as_object(); };
  EXPECT_EQ(state_of(d.file("one/checkpoint/state.json")).at("step").as_int64(), 6);
  EXPECT_EQ(state_of(d.file("one/checkpoint/state_prev.json")).at("step").as_int64(), 3);
  auto damage = [&](const std::string& run, const char* state) {
    const std::string ck = d.file(run + "/checkpoint/");
    const std::string model(state_of(ck + state).at("model").as_string());
    std::ofstream(ck + model, std::ios::trunc) << "not a model";
  };
  damage("one", "state.json");
  std::ostringstream log;
  TrainOptions resume;
  resume.progress = &log;
  auto second = train(cfg, d.file("one"), resume);
  ASSERT_EQ(second.status, "completed");
  EXPECT_EQ(second.train_loss, whole.train_loss);
  EXPECT_EQ(second.val_loss, whole.val_loss);
  EXPECT_EQ(second.report.at("resumed_from_step").as_int64(), 3);
  EXPECT_NE(log.str().find("the latest checkpoint is unreadable"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("resuming from the previous one, after step 3"), std::string::npos) << log.str();
  damage("both", "state.json");
  damage("both", "state_prev.json");
  const std::string err = skipbench::testing::error_of([&] { train(cfg, d.file("both")); });
  EXPECT_NE(err.find("model_6.pt: this checkpoint file is unreadable (truncated or corrupt) (the previous checkpoint is "
                     "unreadable too); it cannot be resumed: remove"), std::string::npos) << err;
}

TEST(Budget, TokensFlopsAndWallClockDecideTheLength) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "dense", 1000);
  cfg.train.val_every = 0;
  cfg.train.val_max_batches = 2;
  const double tokens_per_step = 8 * 16;
  cfg.train.budget_kind = "tokens";
  cfg.train.budget_value = 10.5 * tokens_per_step;
  EXPECT_EQ(train(cfg, "").train_loss.size(), 10u);

  // FLOPs: a run at sparsity 0.5 affords more steps than its dense twin for the same training FLOPs
  cfg.train.budget_kind = "flops";
  cfg.train.budget_value = 2e8;
  auto dense = train(cfg, "");
  Config half = cfg;
  half.variant = {"forced_skip", {{"sparsity", 0.5}}};
  auto skipped = train(half, "");
  EXPECT_GT(skipped.train_loss.size(), dense.train_loss.size());
  for (const auto* r : {&dense, &skipped}) {
    const double used = r->report.at("budget").at("train_flops_standard").to_number<double>();
    const double per_step = used / double(r->train_loss.size());
    EXPECT_GE(used, 2e8);
    EXPECT_LT(used, 2e8 + per_step + 1);  // stops at the first step that reaches the budget
  }

  cfg.train.budget_kind = "wall_clock";
  cfg.train.budget_value = 0.5;
  auto timed = train(cfg, "");
  EXPECT_GE(timed.report.at("budget").at("train_seconds").to_number<double>(), 0.5);
  EXPECT_GT(timed.train_loss.size(), 1u);
}

TEST(Divergence, ANanLossMarksTheRunDivergedWithItsStep) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "dense", 30);
  cfg.train.default_group.lr = 1e30;  // weights jump to ~1e30: attention scores overflow to inf, softmax to NaN
  cfg.train.norms_group.lr = 1e30;
  cfg.train.warmup_frac = 0;
  auto r = train(cfg, d.file("run"));
  ASSERT_EQ(r.status, "diverged");
  EXPECT_LT(r.train_loss.size(), 30u);
  EXPECT_NE(std::string(r.report.at("failure").as_string()).find("at step"), std::string::npos);
  EXPECT_TRUE(fs::exists(d.file("run/run.json")));
}
