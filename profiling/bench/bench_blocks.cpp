// bench_blocks.cpp: micro-benchmarks of the pieces a training step is made of (Google Benchmark, CPU or GPU):
//   block forward and forward+backward: dense vs gated, key-gated attention vs none (tiny shape: 16 x 128 x 128,
//   and a paper-width slice: 2 x 256 x 768);
//   the skip-middle gate computation for all 12 layers; each gate controller's loss + update.
// build/skipbench_bench_blocks --benchmark_format=json; profiling/bench/run_micro.py tabulates into RESULTS.md.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "harness/model/block.h"
#include "harness/registry/gate_controller.h"
#include "variants/skip_middle.h"

using namespace skipbench;

namespace {

ModelConfig shape(int which) {
  ModelConfig c;
  if (which == 0) {
    c.dim = 128, c.n_heads = 4, c.max_seq_len = 128;
  } else {
    c.dim = 768, c.n_heads = 12, c.max_seq_len = 256;
  }
  return c;
}
int64_t batch(int which) { return which == 0 ? 16 : 2; }

// args: shape (0 tiny, 1 paper-width), gate (0 none/dense, 1 gated with key term, 2 gated without term), backward
void BM_Block(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0)), gate_mode = static_cast<int>(state.range(1));
  const bool backward = state.range(2) != 0;
  torch::manual_seed(0);
  auto cfg = shape(which);
  Block block(cfg);
  const int64_t B = batch(which), T = cfg.max_seq_len;
  auto rope = rope_tables(T, cfg.head_dim(), cfg.rope_theta, torch::kCPU);
  auto x = torch::randn({B, T, cfg.dim}).requires_grad_(backward);
  torch::Tensor g;
  if (gate_mode > 0) g = torch::rand({B, T}).requires_grad_(backward);
  const AttentionGate mode = gate_mode == 1 ? AttentionGate::key : AttentionGate::none;
  for (int w = 0; w < 2; ++w) {  // warm-up: first calls pay for allocator growth and kernel selection
    auto y = block(x, rope, g, mode);
    if (backward) y.sum().backward();
  }
  for (auto _ : state) {
    if (backward) {
      auto y = block(x, rope, g, mode);
      y.sum().backward();
    } else {
      torch::NoGradGuard ng;
      auto y = block(x, rope, g, mode);
      benchmark::DoNotOptimize(y.data_ptr());
    }
  }
  state.counters["tokens_per_s"] = benchmark::Counter(double(B * T), benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(which == 0 ? "tiny" : "paper-width") + (gate_mode == 0 ? " dense" : gate_mode == 1 ? " gated key" : " gated none") +
                 (backward ? " fwd+bwd" : " fwd"));
}
BENCHMARK(BM_Block)
    ->ArgsProduct({{0, 1}, {0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(0.3)
    ->UseRealTime();

void BM_GateComputation(benchmark::State& state) {
  torch::manual_seed(0);
  const int64_t L = 12, B = 16, T = 128, D = 128;
  SkipMiddleGates gates(D, L, AttentionGate::key);
  auto h = torch::randn({B, T, D});
  torch::NoGradGuard ng;
  for (auto _ : state) {
    ForwardOutput out;
    gates.begin(B, T);
    for (int64_t l = 0; l < L; ++l) benchmark::DoNotOptimize(gates.gate(l, h, out).data_ptr());
  }
  state.SetLabel("12 layers, 16 x 128 tokens, dim 128");
}
BENCHMARK(BM_GateComputation)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ControllerStep(benchmark::State& state, std::string name, boost::json::object opts) {
  const int64_t L = 12;
  auto c = build_controller(L, {name, opts});
  std::vector<torch::Tensor> gates;
  for (int64_t l = 0; l < L; ++l) gates.push_back(torch::rand({16, 128}));
  auto stats = GateStepStats::from_host(std::vector<double>(L, 0.7), std::vector<double>(L, 0.1));
  for (auto _ : state) {
    benchmark::DoNotOptimize(c->loss(gates).item<float>());
    c->update(stats);
  }
  state.SetLabel("loss on 12 x [16, 128] gates + update");
}
const boost::json::object kTargets{{"mean_target_start", 1.0}, {"mean_target_end", 0.5}};
BENCHMARK_CAPTURE(BM_ControllerStep, none, "none", {})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, sparsity, "sparsity", {})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, sparsity_variance, "sparsity_variance", {})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, sparsity_variance_l2, "sparsity_variance_l2", kTargets)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, adaptive, "adaptive", kTargets)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, proportional, "proportional", kTargets)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ControllerStep, proportional_derivative, "proportional_derivative", kTargets)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
