// test_util.cpp: see test_util.h.
#include "tests/test_util.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <boost/json.hpp>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/data/shard.h"

namespace skipbench::testing {

TempDir::TempDir() {
  static std::atomic<int> n{0};
  const char* tmp = std::getenv("TMPDIR");
  path = fs::join(tmp && *tmp ? tmp : "/tmp",
                  "skipbench_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
  fs::remove_tree(path);
  fs::make_dirs(path);
}
TempDir::~TempDir() { fs::remove_tree(path); }

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

ModelConfig small_model(int64_t n_layers) {
  ModelConfig m;
  m.vocab_size = 32;
  m.dim = 32;
  m.n_heads = 4;
  m.n_kv_heads = 2;
  m.n_layers = n_layers;
  m.max_seq_len = 16;
  return m;
}

std::vector<uint16_t> patterned_tokens(size_t n, int64_t vocab, int64_t period) {
  std::vector<uint16_t> t(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t run = i / static_cast<size_t>(period);
    t[i] = static_cast<uint16_t>((run * 7 + i % static_cast<size_t>(period)) % static_cast<size_t>(vocab));
  }
  return t;
}

Config small_run_config(const TempDir& dir, const std::string& variant, int64_t steps) {
  data::write_shard(dir.file("train_000.bin"), patterned_tokens(20000, 32));
  data::write_shard(dir.file("val_000.bin"), patterned_tokens(2000, 32));
  auto j = default_config_json();
  auto& m = j["model"].as_object();
  auto sm = small_model();
  m["vocab_size"] = sm.vocab_size;
  m["dim"] = sm.dim;
  m["n_heads"] = sm.n_heads;
  m["n_kv_heads"] = sm.n_kv_heads;
  m["n_layers"] = sm.n_layers;
  m["max_seq_len"] = sm.max_seq_len;
  j["variant"].as_object()["name"] = variant;
  auto& t = j["train"].as_object();
  t["steps"] = steps;
  t["batch_size"] = 8;
  t["micro_batch_size"] = 4;
  t["val_every"] = 10;
  t["threads"] = 1;
  t["optimizer"].as_object()["default"].as_object()["lr"] = 3e-3;
  j["data"].as_object()["train"] = dir.file("train_*.bin");
  j["data"].as_object()["val"] = dir.file("val_*.bin");
  return config_from_json(j, "test");
}

}  // namespace skipbench::testing
