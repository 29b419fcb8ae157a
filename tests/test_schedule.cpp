// test_schedule.cpp: warm-up + cosine learning-rate factors at chosen steps, and the optimizer's groups.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "harness/registry/variant_registry.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "tests/test_util.h"

using namespace skipbench;

TEST(Schedule, LinearWarmupFromTenPercentThenCosineToZero) {
  LrSchedule s{100, 0.1, 0.1};
  ASSERT_EQ(s.warmup_steps(), 10);
  EXPECT_DOUBLE_EQ(s.factor(0), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(5), 0.55);   // 0.1 + 0.9 * 5/10
  EXPECT_DOUBLE_EQ(s.factor(9), 0.91);
  EXPECT_DOUBLE_EQ(s.factor(10), 1.0);   // peak
  EXPECT_NEAR(s.factor(55), 0.5, 1e-12); // half-way through the 90 decay steps
  EXPECT_NEAR(s.factor(99), 0.5 * (1 + std::cos(M_PI * 89 / 90)), 1e-12);
  EXPECT_NEAR(s.factor(100), 0.0, 1e-12);
}

TEST(Schedule, PaperLengthWarmupIsIntOfTenPercent) {
  LrSchedule s{19560, 0.1, 0.1};
  EXPECT_EQ(s.warmup_steps(), 1956);
  LrSchedule none{50, 0.0, 0.1};
  EXPECT_DOUBLE_EQ(none.factor(0), 1.0);
}

TEST(Optimizer, ThreeGroupsWithTheirOwnHyperParametersFollowTheSchedule) {
  TrainConfig tc;
  tc.default_group.lr = 1e-3;
  tc.norms_group = tc.default_group;
  tc.norms_group.lr = 2e-3;
  tc.masks_group = tc.default_group;
  tc.masks_group.lr = 5e-3;
  tc.masks_group.weight_decay = 0.1;
  auto model = build_model(skipbench::testing::small_model(4), {"skip_middle", {}});
  GroupedAdamW opt(*model, tc);
  ASSERT_EQ(opt.group_names(), (std::vector<std::string>{"default", "norms", "masks"}));
  auto out = model->forward(torch::randint(0, 32, {1, 4}));
  out.logits.sum().backward();
  opt.step(0.5);
  EXPECT_DOUBLE_EQ(opt.group_lr(0), 0.5e-3);
  EXPECT_DOUBLE_EQ(opt.group_lr(1), 1e-3);
  EXPECT_DOUBLE_EQ(opt.group_lr(2), 2.5e-3);
}  // each group's betas / eps / weight decay acting on the update: tests/test_optimizer.cpp
