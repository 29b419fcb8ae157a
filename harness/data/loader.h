// loader.h: serves contiguous (B, T+1) token windows from a glob of shards, in a fixed order, as llm.c and the
// paper's DistributedDataLoader do: a window is B*T+1 consecutive tokens (inputs = first B*T, targets = last B*T),
// the next window starts B*T tokens later, and a window that would overrun its shard moves to the next shard
// (the shard's tail is dropped). After the last shard the training loader wraps to the first (a new epoch).
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "harness/data/shard.h"

namespace skipbench::data {

struct Batch {
  torch::Tensor inputs;   // [B, T] int64
  torch::Tensor targets;  // [B, T] int64
};

struct LoaderPosition {
  int64_t epoch = 0;
  size_t shard = 0;
  size_t offset = 0;  // token offset of the next window in that shard
};

class TokenLoader {
 public:
  // Opens every shard matching `pattern` (all validated). `what` names the config key in errors ("data.train").
  // Throws Error when a shard is too small for one window of batch*seq_len+1 tokens.
  TokenLoader(const std::string& pattern, const std::string& what, int64_t vocab_size, int64_t batch,
              int64_t seq_len);

  Batch next();                  // wraps around after the last shard
  bool has_next_in_epoch() const;  // false once the current epoch's windows are exhausted
  void reset();                  // back to the first window
  int64_t windows_per_epoch() const;
  int64_t total_tokens() const;
  const LoaderPosition& position() const { return pos_; }
  void set_position(const LoaderPosition& p) { pos_ = p; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<std::string> files_;
  std::vector<Shard> shards_;
  int64_t B_, T_;
  LoaderPosition pos_;
};

}  // namespace skipbench::data
