// bench_hard_skip.cpp: does skipping buy wall-clock? Forward time (no gradients) of the 12-layer tiny shape at
// sequence lengths 128, 512 and 1024 (2048 tokens per batch) and of paper-12l (1 x 1024): a dense model, and the
// forced_skip variant with real skipping (forward_hard_skip, packed active tokens) at middle sparsities 0, 0.25,
// 0.5, 0.75, for a uniform pattern (every sequence alike) and a mixed one (row_spread 1: each sequence its own
// sparsity, from fully computed to twice the mean). Counters: realised sparsity, the FLOPs-estimated saving
// relative to dense (standard mode, forward), the computed fraction of (token, block) pairs, and the executed
// fraction of block FLOPs (from the packed shapes). profiling/bench/run_hard_skip.py turns the JSON output into
// the table of realised saving / estimated saving in benchmarks/RESULTS.md.
//   build/skipbench_bench_hard_skip --benchmark_format=json --benchmark_repetitions=3 [--benchmark_filter=tiny]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <string>

#include "harness/registry/variant_registry.h"
#include "harness/model/flops.h"

using namespace skipbench;

namespace {

struct Shape {
  const char* name;
  ModelConfig cfg;
  int64_t batch;
};

Shape tiny(int64_t T) {
  ModelConfig c;
  c.vocab_size = 257, c.dim = 128, c.n_layers = 12, c.n_heads = 4, c.max_seq_len = T;
  static const std::string names[] = {"tiny-T128", "tiny-T512", "tiny-T1024"};
  return {(T == 128 ? names[0] : T == 512 ? names[1] : names[2]).c_str(), c, 2048 / T};
}
Shape paper12() {
  ModelConfig c;
  c.vocab_size = 50257, c.dim = 768, c.n_layers = 12, c.n_heads = 12, c.max_seq_len = 1024;
  return {"paper-12l", c, 1};
}

void run(benchmark::State& state, Shape shape, double sparsity, bool dense, double spread) {
  torch::NoGradGuard ng;
  torch::manual_seed(0);
  auto model = dense ? build_model(shape.cfg, {"dense", {}})
                     : build_model(shape.cfg, {"forced_skip", {{"sparsity", sparsity}, {"row_spread", spread}}});
  model->eval();
  auto tokens = torch::randint(0, shape.cfg.vocab_size, {shape.batch, shape.cfg.max_seq_len});
  auto out = model->forward_hard_skip(tokens);  // warm-up, and the realised gates
  double realised = 0;
  if (!out.gates.empty()) realised = (torch::stack(out.gates) == 0).to(torch::kFloat64).mean().item<double>();
  for (auto _ : state) {
    auto o = model->forward_hard_skip(tokens);
    benchmark::DoNotOptimize(o.logits.data_ptr());
  }
  const double f_dense = estimate_flops(shape.cfg, false, {}, FlopsMode::standard).forward_per_sequence;
  const double f = estimate_flops(shape.cfg, !dense, {realised}, FlopsMode::standard).forward_per_sequence;
  state.counters["sparsity"] = realised;
  state.counters["est_saving"] = 1.0 - f / f_dense;
  const auto& w = model->hard_skip_work;
  state.counters["computed_fraction"] = w.possible ? double(w.computed) / double(w.possible) : 1.0;
  state.counters["executed_fraction"] = w.dense() > 0 ? w.executed() / w.dense() : 1.0;
  state.counters["tokens"] = double(shape.batch * shape.cfg.max_seq_len);
  state.SetLabel(std::string(shape.name));
}

}  // namespace

int main(int argc, char** argv) {
  for (auto shape : {tiny(128), tiny(512), tiny(1024), paper12()}) {
    const bool big = std::string(shape.name) == "paper-12l";
    const int iters = big ? 2 : 8;
    benchmark::RegisterBenchmark((std::string(shape.name) + "/dense").c_str(),
                                 [shape](benchmark::State& s) { run(s, shape, 0.0, true, 0.0); })
        ->Unit(benchmark::kMillisecond)->Iterations(iters)->UseRealTime();
    for (const char* pattern : {"uniform", "mixed"}) {
      if (big && std::string(pattern) == "mixed") continue;  // one sequence per batch: no rows to mix
      const double spread = std::string(pattern) == "mixed" ? 1.0 : 0.0;
      for (double sp : {0.0, 0.25, 0.5, 0.75})
        benchmark::RegisterBenchmark(
            (std::string(shape.name) + "/" + pattern + "/" + std::to_string(sp).substr(0, 4)).c_str(),
            [shape, sp, spread](benchmark::State& s) { run(s, shape, sp, false, spread); })
            ->Unit(benchmark::kMillisecond)->Iterations(iters)->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
