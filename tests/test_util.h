// test_util.h: helpers shared by the tests: a fresh temporary directory, small configs, synthetic shards.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "harness/config/config.h"

namespace skipbench::testing {

// A new empty directory under the system temp dir, removed by the destructor.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
  std::string file(const std::string& name) const { return path + "/" + name; }
};

// The message of the skipbench::Error that f throws, or "" when it throws none.
std::string error_of(const std::function<void()>& f);

// A small model config (vocab 32, dim 32, 4 heads, 2 kv heads, 4 layers, seq 16) for fast tests.
ModelConfig small_model(int64_t n_layers = 4);

// Tokens with learnable structure: repeated ascending runs 0,1,...,period-1 with a deterministic offset per run,
// so the next token is predictable from the previous one.
std::vector<uint16_t> patterned_tokens(size_t n, int64_t vocab, int64_t period = 8);

// A Config training small_model() on synthetic shards written into dir.
Config small_run_config(const TempDir& dir, const std::string& variant, int64_t steps);

}  // namespace skipbench::testing
