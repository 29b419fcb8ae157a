// loader.h: serves contiguous (B, T+1) token windows from a glob of shards, in a fixed order, as llm.c and the
// paper's DistributedDataLoader do: a window is B*T+1 consecutive tokens (inputs = first B*T, targets = last B*T),
// the next window starts B*T tokens later, and a window that would overrun its shard moves to the next shard
// (the shard's tail is dropped). After the last shard the training loader wraps to the first (a new epoch).
// Data parallelism: the windows above form one global stream, the single-process one; with world_size W, rank r
// reads the stream's windows r, r+W, r+2W, ... (a round is W consecutive windows of the stream, and may span a
// shard or epoch boundary). So W ranks together read exactly the windows one process reads, in the same order,
// for any W, and a position (the next round's first window) means the same thing on every world size: a run can
// resume on another world size with the same global batch. Shards are memory-mapped (no copy of the data set in RAM).
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
  size_t offset = 0;  // token offset in that shard of the next round's first window (the same on every rank);
                      // it may lie past the shard's last whole window, which moves on to the next shard when read
};

class TokenLoader {
 public:
  // Opens every shard matching `pattern` (all validated). `what` names the config key in errors ("data.train").
  // Throws Error when a shard is too small for one window (batch*seq_len+1 tokens), or when rank is not in
  // [0, world_size).
  TokenLoader(const std::string& pattern, const std::string& what, int64_t vocab_size, int64_t batch,
              int64_t seq_len, int64_t rank = 0, int64_t world_size = 1);

  Batch next();                  // wraps around after the last shard
  void skip();                   // moves on as next() does, without reading the window (another rank's batch)
  bool has_next_in_epoch() const;  // false once this rank's windows of the current epoch are exhausted
  void reset();                  // back to the first round
  int64_t windows_per_epoch() const;  // windows of the stream per epoch (all ranks together)
  int64_t total_tokens() const;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_; }
  const LoaderPosition& position() const { return pos_; }
  // Resumes at p (from position() of a loader with the same files and batch, on any rank and world size); throws
  // Error when p cannot come from such a loader (shard index out of range, an offset off the window grid).
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
  int64_t epoch_ = 0;  // the epoch of this rank's last window (of the position set, before the first)
  bool pin_ = false;
  mutable uint64_t checksum_ = 0;
  mutable bool have_checksum_ = false;
  bool fits(const LoaderPosition& p) const;  // the window at p lies inside its shard
  void settle(LoaderPosition& p) const;      // p on a whole window: the next shard (or epoch) when it is not
  LoaderPosition mine() const;               // this rank's next window: the round's r-th, settled
  void advance(const LoaderPosition& read);  // past this round, whose own window (mine()) is `read`
};

}  // namespace skipbench::data
