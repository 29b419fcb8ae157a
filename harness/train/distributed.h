// distributed.h: data parallelism on PyTorch's c10d, as torchrun launches it. From torchrun's environment (RANK,
// LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT; with TORCHELASTIC_USE_AGENT_STORE
// the agent already hosts the TCPStore at MASTER_PORT, so every rank connects as a client, under
// PrefixStore("/worker/attempt_<restart_count>") as Python's init_process_group does) it builds a ProcessGroupGloo
// over TCP (CPU tensors; the headers come from Debian's libgloo-dev, the code from libtorch_cpu). Without RANK and
// WORLD_SIZE it is one process (world 1) and every call is a no-op. Collectives block; a rank that dies makes the
// others fail within `timeout` with an Error naming the operation. all_reduce_sum_async starts one and returns at
// once (Gloo runs it on its own threads), so gradient buckets overlap the backward pass (grad_buckets.h).
#pragma once
#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace skipbench {

struct DistEnv {
  int rank = 0, world = 1, local_rank = 0, restart_count = 0;
  std::string master_addr, backend = "none";
  int master_port = 0;
  bool agent_store = false;
  bool active() const { return world > 1; }
};

// Reads torchrun's variables; throws Error naming a missing or malformed one (a partial environment).
DistEnv read_dist_env();

// A collective in flight (all_reduce_sum_async): wait() blocks until it is done, throwing the Error the blocking
// call would. Its tensor must stay alive and untouched until then. Destroying one that was never waited for
// waits for it, and swallows its error (an exception is already on its way).
class PendingCollective {
 public:
  PendingCollective();
  PendingCollective(PendingCollective&&) noexcept;
  PendingCollective& operator=(PendingCollective&&) noexcept;
  ~PendingCollective();
  bool pending() const { return impl_ != nullptr; }
  void wait();

 private:
  friend class ProcessGroup;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ProcessGroup {
 public:
  // world 1: nothing is created. timeout: for the store and every collective (SKIPBENCH_DIST_TIMEOUT_S, default 120).
  explicit ProcessGroup(const DistEnv& env);
  ~ProcessGroup();
  const DistEnv& env() const { return env_; }
  // In place: the sum over ranks of t (one contiguous tensor: callers flatten what they reduce into one buffer;
  // on another device it is copied to the host and back).
  void all_reduce_sum(torch::Tensor& t, const char* what);
  // The same, started: t must be a contiguous CPU tensor (an Error otherwise); sums land in t once the returned
  // collective is waited for. Every rank must start its collectives in the same order (Gloo pairs them by
  // sequence). world 1: nothing to wait for.
  PendingCollective all_reduce_sum_async(const torch::Tensor& t, const char* what);
  // In place: rank 0's values of t on every rank.
  void broadcast(torch::Tensor& t, const char* what);
  void barrier(const char* what);

 private:
  struct Impl;
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skipbench
