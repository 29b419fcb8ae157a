// bench_loader.cpp: is the data loader ever the bottleneck? Tokens/s served by TokenLoader::next (memory-mapped
// llm.c shards -> int64 [B, T] inputs and targets) for the paper's batch shape (32 x 1024 per device) and the tiny
// CPU preset's (16 x 128), single process and as rank 3 of 8. The target is over 100x the tokens/s the tiny
// model trains at on CPU. Also the BPE encoding speed behind `skipbench data prepare` (bytes/s, one thread), on
// Debian's fortunes text when it is installed.
// At start it writes 50M random tokens (two 25M-token shards, 100 MB; SKIPBENCH_BENCH_TOKENS overrides) under
// $TMPDIR and removes them at exit; the first pass maps pages the write left in the page cache.
//   build/skipbench_bench_loader [--benchmark_format=json] [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "harness/common/fs.h"
#include "harness/data/loader.h"
#include "harness/data/prepare.h"
#include "harness/data/shard.h"
#include "harness/data/tokenizer.h"

using namespace skipbench;

namespace {

std::string g_dir;

void write_data(int64_t tokens) {
  const char* tmp = std::getenv("TMPDIR");
  g_dir = fs::join(tmp && *tmp ? tmp : "/tmp", "skipbench_bench_loader_" + std::to_string(::getpid()));
  fs::make_dirs(g_dir);
  std::mt19937 rng(0);
  std::uniform_int_distribution<int> id(0, 50256);  // GPT-2's vocabulary, as FineWeb shards
  for (int k = 0; k < 2; ++k) {
    std::vector<uint16_t> t(static_cast<size_t>(tokens / 2));
    for (auto& x : t) x = static_cast<uint16_t>(id(rng));
    data::write_shard(fs::join(g_dir, "train_00000" + std::to_string(k) + ".bin"), t);
  }
}

void loader_next(benchmark::State& state, int64_t B, int64_t T, int64_t rank, int64_t world) {
  data::TokenLoader l(fs::join(g_dir, "train_*.bin"), "bench", 50257, B, T, rank, world);
  for (auto _ : state) {
    auto b = l.next();
    benchmark::DoNotOptimize(b.inputs.data_ptr());
    benchmark::DoNotOptimize(b.targets.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * B * T);  // items_per_second = tokens/s
  state.counters["epochs"] = static_cast<double>(l.position().epoch);
}

void encode_text(benchmark::State& state, const std::string& dir) {
  std::string text;
  for (const auto& n : {"fortunes", "literature", "riddles", "science", "wisdom"}) {
    std::ifstream in(fs::join(dir, n), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  const auto docs = data::split_documents(text, false);
  std::vector<std::string_view> lines;
  for (auto d : docs)
    for (size_t s = 0; s < d.size();) {
      size_t nl = d.find('\n', s);
      if (nl == std::string_view::npos) nl = d.size();
      if (nl > s) lines.push_back(d.substr(s, nl - s));
      s = nl + 1;
    }
  data::BpeTrainOptions o;
  o.vocab_size = 4096;
  const auto tok = data::train_bpe(lines, o);
  int64_t bytes = 0, tokens = 0;
  for (auto _ : state) {
    for (auto d : docs) {
      tokens += static_cast<int64_t>(tok.encode(d).size());
      bytes += static_cast<int64_t>(d.size());
    }
  }
  state.SetBytesProcessed(bytes);
  state.counters["tokens_per_s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
  state.counters["bytes_per_token"] = static_cast<double>(bytes) / static_cast<double>(std::max<int64_t>(1, tokens));
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("SKIPBENCH_BENCH_TOKENS");
  write_data(env ? std::atoll(env) : 50'000'000);
  torch::set_num_threads(1);
  benchmark::RegisterBenchmark("loader/next/32x1024", [](benchmark::State& s) { loader_next(s, 32, 1024, 0, 1); })
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("loader/next/16x128", [](benchmark::State& s) { loader_next(s, 16, 128, 0, 1); })
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  benchmark::RegisterBenchmark("loader/next/32x1024/rank3of8",
                               [](benchmark::State& s) { loader_next(s, 32, 1024, 3, 8); })
      ->Unit(benchmark::kMicrosecond)->UseRealTime();
  const std::string fortunes = "/usr/share/games/fortunes";
  if (fs::is_directory(fortunes))
    benchmark::RegisterBenchmark("tokenizer/encode/fortunes_bpe4096",
                                 [fortunes](benchmark::State& s) { encode_text(s, fortunes); })
        ->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  fs::remove_tree(g_dir);
  return 0;
}
