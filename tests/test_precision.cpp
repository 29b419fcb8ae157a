// test_precision.cpp: bf16 autocast (AutocastScope) on the CPU: what runs in bf16, that the weight cache is
// cleared between forwards (no stale weights after an update), and a bf16 training run next to an fp32 one.
// The same scope drives CUDA autocast; GPU-only checks live in test_gpu_step.cpp.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/train/autocast.h"
#include "harness/train/trainer.h"
#include "tests/test_util.h"

namespace skipbench {
namespace {

TEST(Autocast, Bf16ScopeRunsLinearsInBf16AndRestoresFp32AfterIt) {
  torch::manual_seed(0);
  torch::nn::Linear lin(8, 4);
  auto x = torch::randn({2, 8});
  {
    AutocastScope ac(Precision::bf16, c10::DeviceType::CPU);
    EXPECT_EQ(lin(x).scalar_type(), torch::kBFloat16);
    EXPECT_EQ(torch::softmax(lin(x), -1, torch::kFloat32).scalar_type(), torch::kFloat32);
  }
  EXPECT_EQ(lin(x).scalar_type(), torch::kFloat32);
  {
    AutocastScope ac(Precision::fp32, c10::DeviceType::CPU);  // a no-op
    EXPECT_EQ(lin(x).scalar_type(), torch::kFloat32);
  }
  EXPECT_EQ(lin->weight.scalar_type(), torch::kFloat32);  // master weights stay fp32
}

// Autocast caches the bf16 copy of an fp32 leaf weight (requires grad, not a view) while a region is open. A
// forward after an in-place update must see the new weight: the scope clears the cache when it closes (without
// that, y2 == y1 below). LibTorch's own Linear passes weight.t(), a view, which autocast never caches; an op given
// the leaf itself (as here, or in a custom module) is cached.
TEST(Autocast, ClosingTheScopeClearsTheWeightCacheSoUpdatesAreSeen) {
  torch::manual_seed(1);
  auto w = torch::randn({8, 4}).requires_grad_(true);
  auto x = torch::randn({3, 8});
  torch::Tensor y1, y2, y_open;
  {
    AutocastScope ac(Precision::bf16, c10::DeviceType::CPU);
    y1 = torch::matmul(x, w).to(torch::kFloat32);
    {
      torch::NoGradGuard ng;
      w.mul_(2.0);  // what an optimizer step does: in place, same TensorImpl
    }
    y_open = torch::matmul(x, w).to(torch::kFloat32);  // still inside the region: the cached copy (stale)
  }
  {
    AutocastScope ac(Precision::bf16, c10::DeviceType::CPU);
    y2 = torch::matmul(x, w).to(torch::kFloat32);
  }
  EXPECT_TRUE(torch::equal(y_open, y1));  // the cache is real ...
  EXPECT_TRUE(torch::allclose(y2, 2 * y1, 1e-2, 1e-2)) << (y2 - 2 * y1).abs().max().item<double>();  // ... and cleared
  EXPECT_NE(skipbench::testing::error_of([] { parse_precision("fp16"); }).find("train.precision"), std::string::npos);
}

// Same model, data and seed: a bf16 run tracks the fp32 run closely but is not the same computation.
TEST(Autocast, Bf16TrainingTracksFp32AndKeepsFp32MasterWeights) {
  skipbench::testing::TempDir dir;
  auto cfg = skipbench::testing::small_run_config(dir, "skip_middle", 6);
  cfg.train.val_every = 0;
  TrainOptions opts;
  opts.skip_final_validation = true;
  auto fp32 = train(cfg, "", opts);
  cfg.train.precision = "bf16";
  auto bf16 = train(cfg, "", opts);
  ASSERT_EQ(fp32.train_loss.size(), 6u);
  ASSERT_EQ(bf16.train_loss.size(), 6u);
  double worst = 0, any = 0;
  for (size_t i = 0; i < 6; ++i) {
    worst = std::max(worst, std::abs(fp32.train_loss[i] - bf16.train_loss[i]));
    any += std::abs(fp32.train_loss[i] - bf16.train_loss[i]);
  }
  EXPECT_LT(worst, 0.05);  // bf16 has ~3 significant digits; the loss is ~3.4 nats
  EXPECT_GT(any, 0.0);     // and autocast really was on
  EXPECT_LT(bf16.train_loss.back(), bf16.train_loss.front());
  EXPECT_EQ(std::string(bf16.report.at("execution").at("precision").as_string()), "bf16");
}

}  // namespace
}  // namespace skipbench
