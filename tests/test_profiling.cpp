// test_profiling.cpp: range nesting and timers, kernel attribution on synthetic CUPTI-like records (no GPU), the
// profile.json tables, the CPU profile end to end, and the GPU tracer (skipped without a GPU).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "harness/common/fs.h"
#include "profiling/attribution.h"
#include "profiling/cupti_tracer.h"
#include "profiling/op_timer.h"
#include "profiling/profile_session.h"
#include "profiling/ranges.h"
#include "tests/test_util.h"

using namespace skipbench;
using namespace std::chrono_literals;

TEST(Ranges, NestByPathTimeInclusivelyAndCostNothingWhenOff) {
  prof::disable();
  prof::reset_timers();
  { prof::Range r("off"); }
  EXPECT_TRUE(prof::timer_totals().empty());  // off: nothing recorded
  prof::Instruments inst;
  inst.timers = true;
  prof::configure(inst);
  for (int i = 0; i < 2; ++i) {
    prof::Range step("step");
    std::this_thread::sleep_for(2ms);
    for (int l = 0; l < 3; ++l) {
      prof::Range b("block", l);
      prof::Range a("attention");
      std::this_thread::sleep_for(1ms);
    }
  }
  auto t = prof::timer_totals();
  prof::disable();
  ASSERT_TRUE(t.count("step") && t.count("step/block.1") && t.count("step/block.1/attention"));
  EXPECT_EQ(t.at("step").count, 2);
  EXPECT_EQ(t.at("step/block.2/attention").count, 2);
  EXPECT_FALSE(t.count("block.0"));  // always under its parent
  double blocks = 0;
  for (int l = 0; l < 3; ++l) blocks += t.at("step/block." + std::to_string(l)).seconds;
  EXPECT_GE(t.at("step").seconds, blocks);  // a parent includes its children
  EXPECT_GE(t.at("step/block.0").seconds, t.at("step/block.0/attention").seconds);
  EXPECT_GE(t.at("step").seconds, 2 * (2e-3 + 3e-3));
}

// The GPU case on a CPU: autograd's device thread opens the per-block backward ranges with no range of its own.
TEST(Ranges, RangesOnAnotherThreadNestUnderTheAdoptingRangeOnlyWhileItAdopts) {
  prof::Instruments inst;
  inst.timers = true;
  prof::configure(inst);
  prof::reset_timers();
  auto hooks = [] {  // what the backward hooks do on autograd's thread
    prof::push_range("block", 3);
    prof::pop_range();
  };
  {
    prof::Range step("step");
    prof::Range bwd("backward");
    std::thread(hooks).join();  // not adopted: top level
    {
      prof::AdoptOtherThreads adopt;
      std::thread(hooks).join();  // adopted: under step/backward
    }
    std::thread(hooks).join();  // the adoption ended with its scope
  }
  auto t = prof::timer_totals();
  prof::disable();
  ASSERT_TRUE(t.count("step/backward/block.3"));
  EXPECT_EQ(t.at("step/backward/block.3").count, 1);
  ASSERT_TRUE(t.count("block.3"));
  EXPECT_EQ(t.at("block.3").count, 2);
}

TEST(Attribution, KernelsGoToTheInnermostRangeAndCountForEveryAncestor) {
  const std::vector<std::string> paths = {"step", "step/forward", "step/forward/block.0", "step/forward/block.0/attention",
                                          "step/backward"};
  using K = prof::ActivityRecord::Kind;
  std::vector<prof::ActivityRecord> recs = {
      {K::kernel, 10, 1000, 4000, 7, "gemm"},        // attention: 3 us
      {K::kernel, 11, 5000, 6000, 7, "softmax"},     // attention: 1 us
      {K::kernel, 12, 7000, 9000, 7, "rmsnorm"},     // block.0 itself: 2 us
      {K::memcpy, 13, 100, 600, 0, "memcpy HtoD"},   // step itself: 0.5 us
      {K::kernel, 14, 10000, 20000, 7, "gemm"},      // backward: 10 us
      {K::kernel, 99, 30000, 31000, 7, "stray"},     // no correlation: unattributed
  };
  std::vector<prof::CorrelationRecord> corr = {{10, 3}, {11, 3}, {12, 2}, {13, 0}, {14, 4}};
  auto a = prof::attribute(recs, corr, paths);
  const auto& att = a.by_path.at("step/forward/block.0/attention");
  EXPECT_DOUBLE_EQ(att.gpu_s, 4e-6);
  EXPECT_DOUBLE_EQ(att.self_gpu_s, 4e-6);
  EXPECT_EQ(att.records, 2);
  EXPECT_DOUBLE_EQ(a.by_path.at("step/forward/block.0").gpu_s, 6e-6);
  EXPECT_DOUBLE_EQ(a.by_path.at("step/forward/block.0").self_gpu_s, 2e-6);
  EXPECT_DOUBLE_EQ(a.by_path.at("step/forward").gpu_s, 6e-6);
  EXPECT_DOUBLE_EQ(a.by_path.at("step").gpu_s, 6e-6 + 0.5e-6 + 10e-6);
  EXPECT_EQ(a.by_path.at("step").records, 5);
  EXPECT_DOUBLE_EQ(a.by_path.at("(unattributed)").gpu_s, 1e-6);
  EXPECT_DOUBLE_EQ(a.total_gpu_s, 17.5e-6);
  auto j = a.to_json(1);
  for (const auto& row : j.at("ranges").as_array())
    if (row.at("path") == "step/forward/block.0/attention") {
      EXPECT_EQ(row.at("top_kernels").as_array()[0].at("name"), "gemm");  // 3 us beats 1 us
    }
}

TEST(ProfileTables, PhasesLayersAndModules) {
  std::map<std::string, double> s = {{"step", 10},
                                     {"step/forward", 4},
                                     {"step/backward", 5},
                                     {"step/forward/block.0", 2},
                                     {"step/forward/block.0/attention", 1.5},
                                     {"step/forward/block.0/ffn", 0.4},
                                     {"step/forward/block.1", 1.8},
                                     {"step/forward/block.1/attention", 1.0},
                                     {"step/forward/block.1/gate", 0.1}};
  std::map<std::string, int64_t> c;
  auto t = profile_tables(s, c, 2);
  EXPECT_DOUBLE_EQ(t.at("per_phase_s").at("forward").as_double(), 2.0);  // per step
  EXPECT_DOUBLE_EQ(t.at("per_phase_s").at("backward").as_double(), 2.5);
  EXPECT_DOUBLE_EQ(t.at("per_module_s").at("attention").as_double(), 1.25);
  const auto& layers = t.at("per_layer_s").as_array();
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_DOUBLE_EQ(layers[0].at("forward_s").as_double(), 1.0);
  EXPECT_DOUBLE_EQ(layers[1].at("gate_s").as_double(), 0.05);
}

TEST(Profile, CpuTimerPathEndToEnd) {
  skipbench::testing::TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 1);
  ProfileOptions o;
  o.steps = 3;
  o.warmup = 1;
  o.ops = true;  // the operator table too
  auto p = run_profile(cfg, o, d.file("prof"));
  ASSERT_TRUE(fs::exists(d.file("prof/profile.json")));
  EXPECT_EQ(p.at("schema"), "skipbench.profile");
  EXPECT_EQ(p.at("wall_s_per_step").as_array().size(), 3u);
  const auto& h = p.at("host_timers").as_object();
  for (const char* phase : {"data", "forward", "backward", "optimizer"})
    EXPECT_GT(h.at("per_phase_s").at(phase).to_number<double>(), 0.0) << phase;
  const auto& layers = h.at("per_layer_s").as_array();
  ASSERT_EQ(layers.size(), 4u);  // every block of the 4-layer model, forward and backward
  for (const auto& row : layers) {
    EXPECT_GT(row.at("forward_s").to_number<double>(), 0.0);
    EXPECT_GT(row.at("backward_s").to_number<double>(), 0.0);  // bracketed by the autograd boundary hooks
  }
  double backward_blocks = 0;
  for (const auto& r : h.at("ranges").as_array())
    if (std::string(r.at("path").as_string()).rfind("step/backward/block.", 0) == 0 && r.at("depth").as_int64() == 2)
      backward_blocks += r.at("per_step_s").to_number<double>();
  EXPECT_LE(backward_blocks, h.at("per_phase_s").at("backward").to_number<double>());  // nested in the phase
  for (const char* m : {"gate", "attention", "ffn"}) EXPECT_GT(h.at("per_module_s").at(m).to_number<double>(), 0.0) << m;
  EXPECT_FALSE(p.at("cupti").at("active").as_bool());
  bool mm = false;
  for (const auto& r : p.at("ops").at("ops").as_array()) mm = mm || r.at("name") == "aten::mm";
  EXPECT_TRUE(mm) << "a training step's matrix products are in the operator table";
  EXPECT_GT(p.at("ops").at("total_ms_per_step").to_number<double>(), 0.0);
  // forward-only with real skipping
  cfg.variant = {"forced_skip", {{"sparsity", 0.5}}};
  o.eval = o.hard_skip = true;
  auto e = run_profile(cfg, o, "");
  EXPECT_EQ(e.at("mode"), "eval_hard_skip");
  EXPECT_GT(e.at("host_timers").at("per_phase_s").at("forward").to_number<double>(), 0.0);
  EXPECT_FALSE(prof::g_active);  // instruments are switched off afterwards
}

TEST(OpTimer, CountsEveryOperatorWithSelfTimeOnlyWhileRecording) {
  auto a = torch::randn({64, 64}), b = torch::randn({64, 64});
  prof::OpTimer t;
  torch::mm(a, b);  // before start: not counted
  t.start();
  for (int i = 0; i < 3; ++i) torch::mm(a, b);
  torch::matmul(a, b);  // aten::matmul calls aten::mm: its self time excludes the product
  t.stop();
  torch::mm(a, b);  // after stop: not counted
  auto j = t.to_json(/*steps=*/1);
  std::map<std::string, boost::json::object> by;
  double sum = 0;
  for (const auto& r : j.at("ops").as_array()) {
    by[std::string(r.at("name").as_string())] = r.as_object();
    sum += r.at("ms_per_step").to_number<double>();
  }
  ASSERT_TRUE(by.count("aten::mm") && by.count("aten::matmul"));
  EXPECT_EQ(by["aten::mm"].at("calls_per_step").to_number<double>(), 4.0);
  EXPECT_EQ(by["aten::matmul"].at("calls_per_step").to_number<double>(), 1.0);
  EXPECT_LT(by["aten::matmul"].at("ms_per_step").to_number<double>(), by["aten::mm"].at("ms_per_step").to_number<double>());
  EXPECT_NEAR(sum, j.at("total_ms_per_step").to_number<double>(), 1e-9);  // self times add up to the total
}

TEST(OpTimer, WithShapesSplitsAnOperatorByItsInputSizes) {
  auto a = torch::randn({8, 4}), b = torch::randn({4, 3}), c = torch::randn({4, 5});
  prof::OpTimer t;
  t.start(/*with_shapes=*/true);
  torch::mm(a, b);
  torch::mm(a, b);
  torch::mm(a, c);
  t.stop();
  std::map<std::string, double> calls;
  const auto split = t.to_json(1);
  for (const auto& r : split.at("ops").as_array())
    calls[std::string(r.at("name").as_string())] = r.at("calls_per_step").to_number<double>();
  EXPECT_EQ(calls["aten::mm [8,4] [4,3]"], 2.0);
  EXPECT_EQ(calls["aten::mm [8,4] [4,5]"], 1.0);
  EXPECT_EQ(calls.count("aten::mm"), 0u) << "no unsplit row when shapes are asked for";
  t.start();  // and without: one row again
  torch::mm(a, b);
  torch::mm(a, c);
  t.stop();
  bool plain = false;
  const auto whole = t.to_json(1);
  for (const auto& r : whole.at("ops").as_array())
    if (r.at("name").as_string() == "aten::mm") plain = r.at("calls_per_step").to_number<double>() == 2.0;
  EXPECT_TRUE(plain);
}

TEST(CuptiTracer, RecordsKernelsOnAGpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device: the CUPTI tracer needs a GPU and a driver";
  prof::CuptiTracer t;
  std::string why;
  ASSERT_TRUE(t.start(&why)) << why;
  prof::Instruments inst;
  prof::CuptiTracer::add_correlation(inst);
  prof::configure(inst);
  {
    prof::Range r("matmul");
    auto a = torch::randn({256, 256}, torch::kCUDA);
    (a.matmul(a)).sum().item<float>();
  }
  torch::cuda::synchronize();
  t.stop();
  prof::disable();
  auto a = prof::attribute(t.records(), t.correlations(), prof::paths());
  EXPECT_GT(a.total_records, 0);
  EXPECT_GT(a.by_path["matmul"].records, 0);
  EXPECT_EQ(t.dropped(), 0u);
}

TEST(CuptiTracer, RefusesCleanlyWithoutAGpu) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "a GPU is present";
  prof::CuptiTracer t;
  std::string why;
  if (prof::CuptiTracer::compiled_in()) {
    EXPECT_FALSE(t.start(&why));  // no driver: CUPTI refuses, with a reason, instead of crashing
    EXPECT_FALSE(why.empty());
  } else {
    EXPECT_FALSE(t.start(&why));
  }
}
