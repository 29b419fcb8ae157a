// synthetic.h: a token stream with known per-token difficulty, to ask whether gates skip the "easy" tokens.
// The stream alternates segments (lengths uniform in [span_min, span_max]):
//   random  tokens uniform over the vocabulary: unpredictable, loss >= ln(vocab)   -> class 0
//   copy    a span copied from up to `lookback` tokens earlier: its first token is unpredictable (class 1),
//           the rest are predictable by an induction head that found the source (class 2).
// Segment kind: copy with probability copy_frac (when enough history exists). Labels are written as shards in
// the same format, aligned token for token (`*_labels_*.bin`), so a run can report skip depth per class.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace skipbench::data {

struct SynthOptions {
  int64_t vocab = 256;
  int64_t train_tokens = 400000;
  int64_t val_tokens = 40000;
  double copy_frac = 0.5;
  int64_t span_min = 8, span_max = 32;
  int64_t lookback = 512;
  uint64_t seed = 0;
};

enum SynthClass : uint16_t { kRandom = 0, kCopyStart = 1, kCopied = 2 };

// tokens and labels of one stream of n tokens.
void synth_stream(const SynthOptions& o, int64_t n, uint64_t seed, std::vector<uint16_t>& tokens,
                  std::vector<uint16_t>& labels);

// Writes out_dir/{train,val}_000000.bin, {train,val}_labels_000000.bin and manifest.json. Throws Error on bad options.
void write_synthetic(const SynthOptions& o, const std::string& out_dir);

}  // namespace skipbench::data
