// bench_hard_skip.cpp: does skipping buy wall-clock? Realised against FLOPs-estimated saving of real skipping,
// timed side by side with its baseline: each round times the baseline and the skipping path back to back
// (alternating which goes first), and the medians over rounds give the ratio, so drift and background load hit
// both alike.
//   inference: forward (no gradients) of a dense model vs the forced_skip variant's forward_hard_skip (packed
//              active tokens) at middle sparsities 0, 0.25, 0.5, 0.75; the 12-layer tiny shape at sequence
//              lengths 128, 512 and 1024 (2048 tokens per batch) and paper-12l (1 x 1024);
//   training:  forward + backward of the forced_skip model, soft (every block computes) vs train.skip_compute;
// patterns: uniform (every sequence alike) and mixed (row_spread: each sequence its own sparsity, from fully
// computed to min(1, 2s)). Estimated saving: 1 - standard forward FLOPs at the realised sparsity / dense
// (training has the same ratio: 3 x forward). executed: block FLOPs run / dense block FLOPs (packed shapes).
// Output: one JSON object on stdout; profiling/bench/run_hard_skip.py tabulates it into benchmarks/RESULTS.md.
//   build/skipbench_bench_hard_skip [--rounds N] [--filter SUBSTRING] [--device cpu|cuda]
// On CUDA every timed call ends with a device synchronisation.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <torch/cuda.h>

#include "harness/model/flops.h"
#include "harness/registry/variant_registry.h"

using namespace skipbench;

namespace {

struct Shape {
  std::string name;
  ModelConfig cfg;
  int64_t batch;
};

Shape tiny(int64_t T) {
  ModelConfig c;
  c.vocab_size = 257, c.dim = 128, c.n_layers = 12, c.n_heads = 4, c.max_seq_len = T;
  return {"tiny-T" + std::to_string(T), c, 2048 / T};
}
Shape paper12() {
  ModelConfig c;
  c.vocab_size = 50257, c.dim = 768, c.n_layers = 12, c.n_heads = 12, c.max_seq_len = 1024;
  return {"paper-12l", c, 1};
}

bool g_cuda = false;
double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  if (g_cuda) torch::cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Times base() and test() back to back for `rounds` rounds (alternating which goes first) after one warm-up of
// each. Returns the medians of each and the median of the per-round ratios test/base: pairing within a round
// cancels the slow drift of a shared VM (measured here: the same dense forward from 140 to 220 ms over minutes).
struct Timing {
  double base_s, test_s, ratio;
};
Timing side_by_side(int rounds, const std::function<void()>& base, const std::function<void()>& test) {
  base(), test();
  std::vector<double> tb, tt, ratio;
  for (int r = 0; r < rounds; ++r) {
    double b, t;
    if (r % 2 == 0) {
      b = seconds(base), t = seconds(test);
    } else {
      t = seconds(test), b = seconds(base);
    }
    tb.push_back(b), tt.push_back(t), ratio.push_back(t / b);
  }
  return {median(tb), median(tt), median(ratio)};
}

std::string row(const std::string& shape, const std::string& mode, const std::string& pattern, double s_req,
                double realised, double est, const Timing& tm, double executed, int rounds, int64_t tokens) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"shape\": \"%s\", \"mode\": \"%s\", \"pattern\": \"%s\", \"requested_sparsity\": %.4f, "
                "\"sparsity\": %.6f, \"est_saving\": %.6f, \"baseline_s\": %.6f, \"skip_s\": %.6f, "
                "\"realised_saving\": %.6f, \"executed_fraction\": %.6f, \"rounds\": %d, \"tokens\": %lld}",
                shape.c_str(), mode.c_str(), pattern.c_str(), s_req, realised, est, tm.base_s, tm.test_s,
                1.0 - tm.ratio, executed, rounds, static_cast<long long>(tokens));
  return buf;
}

double spread_for(const std::string& pattern, double s) {
  if (pattern != "mixed" || s <= 0) return 0.0;
  return std::min(1.0, (1.0 - s) / s);  // rows from s(1 - r) to s(1 + r) <= 1
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) g_cuda = std::string(argv[++i]) == "cuda";
    else {
      std::cerr << "usage: skipbench_bench_hard_skip [--rounds N] [--filter SUBSTRING] [--device cpu|cuda]\n";
      return 2;
    }
  }
  if (g_cuda && !torch::cuda::is_available()) {
    std::cerr << "skipbench_bench_hard_skip: --device cuda: no CUDA device visible\n";
    return 2;
  }
  const torch::Device dev = g_cuda ? torch::kCUDA : torch::kCPU;
  torch::manual_seed(0);
  std::vector<std::string> rows;
  auto wanted = [&](const std::string& name) { return filter.empty() || name.find(filter) != std::string::npos; };
  const std::vector<double> levels{0.0, 0.25, 0.5, 0.75};
  // inference
  for (const auto& shape : {tiny(128), tiny(512), tiny(1024), paper12()}) {
    const bool big = shape.name == "paper-12l";
    torch::NoGradGuard ng;
    auto dense = build_model(shape.cfg, {"dense", {}});
    dense->to(dev);
    dense->eval();
    auto tokens = torch::randint(0, shape.cfg.vocab_size, {shape.batch, shape.cfg.max_seq_len}).to(dev);
    const double f_dense = estimate_flops(shape.cfg, false, {}, FlopsMode::standard).forward_per_sequence;
    for (const std::string pattern : {"uniform", "mixed"}) {
      if (big && pattern == "mixed") continue;  // one sequence per batch: no rows to mix
      for (double s : levels) {
        const std::string name = "inference/" + shape.name + "/" + pattern + "/" + std::to_string(s).substr(0, 4);
        if (!wanted(name)) continue;
        auto m = build_model(shape.cfg, {"forced_skip", {{"sparsity", s}, {"row_spread", spread_for(pattern, s)}}});
        m->to(dev);
        m->eval();
        auto out = m->forward_hard_skip(tokens);
        const double realised = (torch::stack(out.gates) == 0).to(torch::kFloat64).mean().item<double>();
        const double f = estimate_flops(shape.cfg, true, {realised}, FlopsMode::standard).forward_per_sequence;
        const int n = big ? std::max(3, rounds / 2) : rounds;
        auto tm = side_by_side(n, [&] { dense->forward(tokens); }, [&] { m->forward_hard_skip(tokens); });
        const auto& w = m->skip_work;
        rows.push_back(row(shape.name, "inference", pattern, s, realised, 1 - f / f_dense, tm,
                           w.dense() > 0 ? w.executed() / w.dense() : 1.0, n, shape.batch * shape.cfg.max_seq_len));
        std::cerr << name << ": realised " << 1 - tm.ratio << " of estimated " << 1 - f / f_dense << "\n";
      }
    }
  }
  // training: soft forward + backward vs skip_compute, tiny at T = 128
  for (const auto& shape : {tiny(128)}) {
    auto tokens = torch::randint(0, shape.cfg.vocab_size, {shape.batch, shape.cfg.max_seq_len}).to(dev);
    const double f_dense = estimate_flops(shape.cfg, false, {}, FlopsMode::standard).forward_per_sequence;
    for (const std::string pattern : {"uniform", "mixed"}) {
      for (double s : levels) {
        const std::string name = "training/" + shape.name + "/" + pattern + "/" + std::to_string(s).substr(0, 4);
        if (!wanted(name)) continue;
        auto m = build_model(shape.cfg, {"forced_skip", {{"sparsity", s}, {"row_spread", spread_for(pattern, s)}}});
        m->to(dev);
        m->train();
        auto step = [&](bool skip) {
          m->skip_compute = skip;
          for (auto& p : m->parameters()) p.mutable_grad() = torch::Tensor();
          auto o = m->forward(tokens);
          o.logits.mean().backward();
          return o;
        };
        auto out = step(true);
        const double realised = (torch::stack(out.gates) == 0).to(torch::kFloat64).mean().item<double>();
        const double f = estimate_flops(shape.cfg, true, {realised}, FlopsMode::standard).forward_per_sequence;
        auto tm = side_by_side(rounds, [&] { step(false); }, [&] { step(true); });
        const auto& w = m->skip_work;
        rows.push_back(row(shape.name, "training", pattern, s, realised, 1 - f / f_dense, tm,
                           w.dense() > 0 ? w.executed() / w.dense() : 1.0, rounds, shape.batch * shape.cfg.max_seq_len));
        std::cerr << name << ": realised " << 1 - tm.ratio << " of estimated " << 1 - f / f_dense << "\n";
      }
    }
  }
  std::cout << "{\"schema\": \"skipbench.bench_hard_skip\", \"schema_version\": 2, \"device\": \""
            << (g_cuda ? "cuda" : "cpu") << "\", \"threads\": " << torch::get_num_threads() << ", \"rows\": [\n";
  for (size_t i = 0; i < rows.size(); ++i) std::cout << "  " << rows[i] << (i + 1 < rows.size() ? ",\n" : "\n");
  std::cout << "]}\n";
  return 0;
}
