// distributed.h: data parallelism on PyTorch's c10d, as torchrun launches it. From torchrun's environment (RANK,
// LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT; with TORCHELASTIC_USE_AGENT_STORE
// the agent already hosts the TCPStore at MASTER_PORT, so every rank connects as a client, under
// PrefixStore("/worker/attempt_<restart_count>") as Python's init_process_group does) it builds a ProcessGroupGloo
// over TCP (CPU tensors; the headers come from Debian's libgloo-dev, the code from libtorch_cpu). Without RANK and
// WORLD_SIZE it is one process (world 1) and every call is a no-op. Collectives block; a rank that dies makes the
// others fail within `timeout` with an Error naming the operation.
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

class ProcessGroup {
 public:
  // world 1: nothing is created. timeout: for the store and every collective (SKIPBENCH_DIST_TIMEOUT_S, default 120).
  explicit ProcessGroup(const DistEnv& env);
  ~ProcessGroup();
  const DistEnv& env() const { return env_; }
  // In place: the sum over ranks of t (one contiguous tensor: callers flatten what they reduce into one buffer;
  // on another device it is copied to the host and back).
  void all_reduce_sum(torch::Tensor& t, const char* what);
  // In place: rank 0's values of t on every rank.
  void broadcast(torch::Tensor& t, const char* what);
  void barrier(const char* what);

 private:
  struct Impl;
  DistEnv env_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skipbench
