// loader.h: serves contiguous (B, T+1) token windows from a glob of shards, in a fixed order, as llm.c and the
// paper's DistributedDataLoader do: a window is B*T+1 consecutive tokens (inputs = first B*T, targets = last B*T),
// the next window starts B*T tokens later, and a window that would overrun its shard moves to the next shard
// (the shard's tail is dropped). After the last shard the training loader wraps to the first (a new epoch).
// Data parallelism as in the paper's loader: with world_size W, rank r starts at token offset r*B*T and advances
// W*B*T per window, so the ranks read disjoint windows of one round (W consecutive windows) in step; a shard moves
// on when the next whole round would not fit, dropping the same tail for every rank. Rank 0 of world 1 is the
// single-process loader above, unchanged. Shards are memory-mapped (no copy of the data set in RAM).
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
  torch::Tensor window;   // [B*T + 1] int64: inputs and targets are views of it
};

// The batch on `device`: one copy of the window, non-blocking when the window is in pinned host memory (see
// TokenLoader::pin_memory), so the host goes on queueing work while the copy runs. CPU: the batch itself.
Batch to_device(const Batch& b, const torch::Device& device);

struct LoaderPosition {
  int64_t epoch = 0;
  size_t shard = 0;
  size_t offset = 0;  // token offset of this rank's next window in that shard (rank r of a round: base + r*B*T)
};

class TokenLoader {
 public:
  // Opens every shard matching `pattern` (all validated). `what` names the config key in errors ("data.train").
  // Throws Error when a shard is too small for one round: world_size windows, world_size*batch*seq_len+1 tokens,
  // or when rank is not in [0, world_size).
  TokenLoader(const std::string& pattern, const std::string& what, int64_t vocab_size, int64_t batch,
              int64_t seq_len, int64_t rank = 0, int64_t world_size = 1);

  Batch next();                  // wraps around after the last shard
  bool has_next_in_epoch() const;  // false once the current epoch's windows are exhausted
  void reset();                  // back to this rank's first window
  int64_t windows_per_epoch() const;  // windows this rank serves per epoch
  int64_t total_tokens() const;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_; }
  const LoaderPosition& position() const { return pos_; }
  // Resumes at p (from position()); throws Error when p cannot come from this loader (shard index out of range,
  // or an offset that is not this rank's window in a round).
  void set_position(const LoaderPosition& p);
  const std::vector<std::string>& files() const { return files_; }
  // FNV-1a 64-bit over every shard's tokens, in file order (headers excluded): the identity of the data a run
  // read, recorded in run.json and compared by `skipbench regress`. Computed once, on first call.
  uint64_t checksum() const;
  // Windows in page-locked host memory (needs CUDA; LibTorch's caching host allocator recycles the buffers once
  // their copies have completed), for non-blocking host-to-device copies.
  void pin_memory(bool on) { pin_ = on; }

 private:
  std::vector<std::string> files_;
  std::vector<Shard> shards_;
  int64_t B_, T_;
  int64_t rank_ = 0, world_ = 1;
  LoaderPosition pos_;
  bool pin_ = false;
  mutable uint64_t checksum_ = 0;
  mutable bool have_checksum_ = false;
  size_t round_base() const { return pos_.offset - static_cast<size_t>(rank_ * B_ * T_); }
  bool round_fits(size_t shard, size_t base) const;
};

}  // namespace skipbench::data
