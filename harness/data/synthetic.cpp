// synthetic.cpp: see synthetic.h.
#include "harness/data/synthetic.h"

#include <boost/json.hpp>
#include <random>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/data/shard.h"

namespace skipbench::data {

void synth_stream(const SynthOptions& o, int64_t n, uint64_t seed, std::vector<uint16_t>& tokens,
                  std::vector<uint16_t>& labels) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> tok(0, o.vocab - 1), len(o.span_min, o.span_max);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  tokens.clear();
  labels.clear();
  while (static_cast<int64_t>(tokens.size()) < n) {
    const int64_t L = len(rng);
    const int64_t have = static_cast<int64_t>(tokens.size());
    const int64_t back_max = std::min(o.lookback, have);
    if (u(rng) < o.copy_frac && have >= L + 1 && back_max >= L) {  // a copy starts L..back_max tokens back
      std::uniform_int_distribution<int64_t> back(L, back_max);
      const int64_t src = have - back(rng);
      for (int64_t i = 0; i < L; ++i) {
        tokens.push_back(tokens[src + i]);
        labels.push_back(i == 0 ? kCopyStart : kCopied);
      }
    } else {
      for (int64_t i = 0; i < L; ++i) {
        tokens.push_back(static_cast<uint16_t>(tok(rng)));
        labels.push_back(kRandom);
      }
    }
  }
  tokens.resize(n);
  labels.resize(n);
}

void write_synthetic(const SynthOptions& o, const std::string& dir) {
  require(o.vocab >= 2 && o.vocab <= 65536, "--vocab: must be in [2, 65536]");
  require(o.span_min >= 1 && o.span_max >= o.span_min, "--span-min/--span-max: need 1 <= min <= max");
  require(o.lookback >= o.span_max, "--lookback: must be >= --span-max (" + std::to_string(o.span_max) +
                                        "): a copied span starts at least its own length back");
  require(o.copy_frac >= 0 && o.copy_frac <= 1, "--copy-frac: must be in [0, 1]");
  require(o.train_tokens > 0 && o.val_tokens > 0, "--train-tokens/--val-tokens: must be > 0");
  fs::make_dirs(dir);
  std::vector<uint16_t> t, l;
  boost::json::object counts;
  for (auto [split, n, seed] : {std::tuple{"train", o.train_tokens, o.seed * 2}, {"val", o.val_tokens, o.seed * 2 + 1}}) {
    synth_stream(o, n, seed, t, l);
    write_shard(fs::join(dir, std::string(split) + "_000000.bin"), t);
    write_shard(fs::join(dir, std::string(split) + "_labels_000000.bin"), l);
    int64_t c[3] = {0, 0, 0};
    for (auto x : l) ++c[x];
    counts[split] = boost::json::object{{"random", c[0]}, {"copy_start", c[1]}, {"copied", c[2]}};
  }
  boost::json::object manifest{
      {"name", "synthetic-copy-random"},
      {"description", "random segments (class 0) and spans copied from earlier context (class 1 = first copied "
                      "token, class 2 = the rest, predictable by induction); labels in *_labels_*.bin"},
      {"vocab_size", o.vocab}, {"copy_frac", o.copy_frac}, {"span_min", o.span_min}, {"span_max", o.span_max},
      {"lookback", o.lookback}, {"seed", o.seed}, {"class_counts", counts}};
  write_file_atomic(fs::join(dir, "manifest.json"), pretty_json(manifest));
}

}  // namespace skipbench::data
