// test_gpu_step.cpp: GPU-only checks of the CUDA training step; each skips with its reason where no CUDA device
// is present (their CPU twins: test_precision.cpp, test_optimizer.cpp, AttentionSdpa.* in test_model_blocks.cpp).
//   - the trainer's real step (train() with TrainOptions::queue_guard) is queued without a host synchronisation
//     until its one read (CUDA sync-debug mode set to error), and so are its pieces on their own: a micro-batch
//     (pinned batch copy, bf16 forward, loss, controller term, backward, gate statistics), the controller's
//     update from device statistics and the fused optimizer step;
//   - the SDPA kernels LibTorch offers agree with the math path under bf16, values and gate gradients;
//   - peak device memory is reported.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/data/loader.h"
#include "harness/model/attention.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/autocast.h"
#include "harness/registry/gate_controller.h"
#include "harness/train/gate_stats.h"
#include "harness/train/optimizer.h"
#include "harness/train/trainer.h"
#include "profiling/device_memory.h"
#include "tests/test_util.h"

#ifdef SKIPBENCH_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace skipbench {
namespace {

#define SKIP_WITHOUT_CUDA()                                                                  \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device on this machine (GPU-only test)"

#ifdef SKIPBENCH_WITH_CUDA
struct SyncIsAnError {  // CUDA sync-debug mode: any synchronising call throws while this lives
  SyncIsAnError() { c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_ERROR); }
  ~SyncIsAnError() { c10::cuda::warning_state().set_sync_debug_mode(c10::cuda::SyncDebugMode::L_DISABLED); }
};
#endif

TEST(GpuStep, TheTrainersStepIsQueuedWithoutWaitingForTheDevice) {
  SKIP_WITHOUT_CUDA();
#ifdef SKIPBENCH_WITH_CUDA
  // The trainer's real step (train(), bf16, fused AdamW, the paper's proportional controller, gradient
  // accumulation): from its start until its work is queued, any host synchronisation throws (CUDA sync-debug
  // mode), which fails the run. Only the step's one read, after that window, may wait.
  skipbench::testing::TempDir dir;
  auto cfg = skipbench::testing::small_run_config(dir, "skip_middle", 4);
  cfg.train.device = "cuda";
  cfg.train.precision = "bf16";
  cfg.train.micro_batch_size = cfg.train.batch_size / 2;
  cfg.train.controller = {"proportional", {{"mean_target_start", 1.0}, {"mean_target_end", 0.5}}};
  cfg.resolved["train"].as_object()["controller"] = boost::json::object{
      {"name", "proportional"}, {"options", boost::json::object{{"mean_target_start", 1.0}, {"mean_target_end", 0.5}}}};
  int64_t guarded = 0;
  TrainOptions opts;
  opts.queue_guard = [&guarded]() -> std::shared_ptr<void> {
    ++guarded;
    return std::make_shared<SyncIsAnError>();
  };
  TrainResult r;
  ASSERT_NO_THROW(r = train(cfg, "", opts));
  EXPECT_EQ(r.status, "completed");
  EXPECT_EQ(guarded, 3) << "every step but the first (lazy initialisation) runs under the guard";
#endif
}

TEST(GpuStep, AMicroBatchAndTheFusedOptimizerStepNeverWaitForTheDevice) {
  SKIP_WITHOUT_CUDA();
#ifdef SKIPBENCH_WITH_CUDA
  // The pieces on their own (a smaller window than the trainer test above, for pinpointing a regression).
  skipbench::testing::TempDir dir;
  auto cfg = skipbench::testing::small_run_config(dir, "skip_middle", 2);
  const torch::Device dev(torch::kCUDA);
  torch::manual_seed(0);
  auto model = build_model(cfg.model, cfg.variant);
  model->to(dev);
  data::TokenLoader loader(cfg.data.train, "data.train", cfg.model.vocab_size, 4, cfg.model.max_seq_len);
  loader.pin_memory(true);
  auto controller = build_controller(cfg.model.n_layers, {"proportional", {}});
  GroupedAdamW opt(*model, cfg.train);
  GateStatsAccumulator stats(cfg.model.n_layers, cfg.train.zero_eps);
  auto micro_batch = [&] {
    auto b = data::to_device(loader.next(), dev);
    ForwardOutput out;
    torch::Tensor loss;
    {
      AutocastScope ac(Precision::bf16, c10::DeviceType::CUDA);
      out = model->forward(b.inputs);
      loss = torch::nn::functional::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}).to(torch::kFloat32),
                                                  b.targets.reshape({-1})) +
             controller->loss(out.gates);
    }
    loss.backward();
    stats.add(out);
  };
  micro_batch();  // warm-up: lazy initialisation (cuBLAS handles, rope tables on the device) may synchronise
  opt.step(1.0);
  opt.zero_grad();
  {
    SyncIsAnError guard;
    EXPECT_NO_THROW(micro_batch());
    EXPECT_NO_THROW(micro_batch());
    auto [mean, var] = stats.gate_mean_var_device();
    EXPECT_NO_THROW(controller->update({mean, var}));
    EXPECT_NO_THROW(opt.step(1.0));
  }
  EXPECT_GT(stats.tokens(), 0);
  EXPECT_EQ(stats.gate_mean().size(), static_cast<size_t>(cfg.model.n_layers));  // the one read, outside
#endif
}

TEST(GpuStep, EverySdpaKernelThatAcceptsTheInputsMatchesTheMathPathUnderBf16) {
  SKIP_WITHOUT_CUDA();
  const torch::Device dev(torch::kCUDA);
  int compared = 0;
  for (auto kernel : {AttentionKernel::sdpa, AttentionKernel::sdpa_mask})
    for (const std::string backend : {"auto", "flash", "efficient", "cudnn"}) {
      SCOPED_TRACE(std::string(kernel == AttentionKernel::sdpa ? "sdpa" : "sdpa_mask") + " / " + backend);
      set_sdpa_backend(backend);
      const auto choice = sdpa_kernel_choice(kernel, 4, 64, 128, true, dev, torch::kBFloat16);
      if (choice == "error") continue;  // this kernel refuses these inputs (e.g. flash with a mask)
      torch::manual_seed(11);
      Attention math(256, 4, 4, AttentionKernel::math), fused(256, 4, 4, kernel);
      {
        torch::NoGradGuard ng;
        auto src = math->parameters(), dst = fused->parameters();
        for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
      }
      math->to(dev);
      fused->to(dev);
      auto tables = rope_tables(128, 64, 10000.0, dev);
      auto x = torch::randn({2, 128, 256}, dev);
      auto g0 = torch::rand({2, 128}, dev) * 0.98 + 0.01;
      auto ga = g0.clone().requires_grad_(true), gb = g0.clone().requires_grad_(true);
      torch::Tensor ya, yb;
      {
        AutocastScope ac(Precision::bf16, c10::DeviceType::CUDA);
        ya = math(x, tables, ga, AttentionGate::key).to(torch::kFloat32);
        yb = fused(x, tables, gb, AttentionGate::key).to(torch::kFloat32);
      }
      try {
        ya.pow(2).sum().backward();
        yb.pow(2).sum().backward();
      } catch (const c10::Error& e) {  // e.g. cuDNN gives a mask no gradient
        ADD_FAILURE() << choice << " accepted the inputs but its backward failed: " << e.what_without_backtrace();
        continue;
      }
      EXPECT_LT((ya - yb).abs().max().item<double>(), 3e-2 * (1 + ya.abs().max().item<double>())) << choice;
      const double gscale = 1 + ga.grad().abs().max().item<double>();
      EXPECT_LT((ga.grad() - gb.grad()).abs().max().item<double>(), 5e-2 * gscale) << choice;
      ++compared;
    }
  set_sdpa_backend("auto");
  EXPECT_GE(compared, 2);
}

TEST(GpuStep, PinnedBatchesCopyExactlyAndPeakMemoryIsReported) {
  SKIP_WITHOUT_CUDA();
  skipbench::testing::TempDir dir;
  auto cfg = skipbench::testing::small_run_config(dir, "dense", 1);
  data::TokenLoader loader(cfg.data.train, "data.train", cfg.model.vocab_size, 4, cfg.model.max_seq_len);
  loader.pin_memory(true);
  auto host = loader.next();
  EXPECT_TRUE(host.window.is_pinned());
  const torch::Device dev(torch::kCUDA);
  reset_peak_device_memory(dev);
  auto d = data::to_device(host, dev);
  EXPECT_TRUE(torch::equal(d.inputs.cpu(), host.inputs));
  EXPECT_TRUE(torch::equal(d.targets.cpu(), host.targets));
  auto big = torch::empty({64 << 20}, torch::TensorOptions(torch::kUInt8).device(dev));
  auto peak = peak_device_memory_bytes(dev);
  ASSERT_TRUE(peak.has_value());
  EXPECT_GE(*peak, 64.0 * (1 << 20));
  EXPECT_FALSE(peak_device_memory_bytes(torch::kCPU).has_value());
}

}  // namespace
}  // namespace skipbench
