// test_training.cpp: a complete tiny training run (its validation loss falls, its report is complete), seeded
// determinism, gradient accumulation equivalence, and the sparsity controller.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <cmath>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/train/gate_controller.h"
#include "harness/train/trainer.h"
#include "reports/run_report.h"
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
