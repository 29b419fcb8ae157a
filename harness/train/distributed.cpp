// distributed.cpp: see distributed.h.
#include "harness/train/distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "harness/common/error.h"

namespace skipbench {

namespace {
std::string env_or(const char* k, const std::string& dflt = "") {
  const char* v = std::getenv(k);
  return v ? std::string(v) : dflt;
}
int env_int(const char* k, int lo, int hi, int dflt, bool required) {
  const char* v = std::getenv(k);
  if (!v) {
    if (required) throw Error(std::string(k) + ": not set, but RANK and WORLD_SIZE are (a partial torchrun "
                              "environment): launch with torchrun, or unset RANK and WORLD_SIZE for one process");
    return dflt;
  }
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (!*v || *end || x < lo || x > hi)
    throw Error(std::string(k) + "=" + v + ": expected an integer in [" + std::to_string(lo) + ", " +
                std::to_string(hi) + "]");
  return static_cast<int>(x);
}
std::chrono::milliseconds timeout() {
  const int s = env_int("SKIPBENCH_DIST_TIMEOUT_S", 1, 86400, 120, false);
  return std::chrono::milliseconds(1000LL * s);
}
}  // namespace

DistEnv read_dist_env() {
  DistEnv e;
  const bool has_rank = std::getenv("RANK"), has_world = std::getenv("WORLD_SIZE");
  if (!has_rank && !has_world) return e;
  if (has_rank != has_world)
    throw Error(std::string(has_rank ? "WORLD_SIZE" : "RANK") + ": not set, but " + (has_rank ? "RANK" : "WORLD_SIZE") +
                " is (a partial torchrun environment): launch with torchrun, or unset both for one process");
  e.world = env_int("WORLD_SIZE", 1, 65536, 1, true);
  e.rank = env_int("RANK", 0, e.world - 1, 0, true);
  if (e.world == 1) return e;
  e.local_rank = env_int("LOCAL_RANK", 0, 65535, 0, false);
  e.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 1 << 20, 0, false);
  e.master_addr = env_or("MASTER_ADDR");
  if (e.master_addr.empty()) throw Error("MASTER_ADDR: not set (a partial torchrun environment)");
  e.master_port = env_int("MASTER_PORT", 1, 65535, 0, true);
  e.agent_store = env_or("TORCHELASTIC_USE_AGENT_STORE") == "True" || env_or("TORCHELASTIC_USE_AGENT_STORE") == "1";
  e.backend = "gloo";
  return e;
}

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

ProcessGroup::ProcessGroup(const DistEnv& env) : env_(env) {
  if (!env.active()) return;
  impl_ = std::make_unique<Impl>();
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(env.master_port);
    so.isServer = !env.agent_store && env.rank == 0;  // torchrun's agent hosts it when it says so
    so.numWorkers = env.agent_store ? std::nullopt : std::optional<std::size_t>(env.world);
    so.timeout = timeout();
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, so);
    impl_->store = env.agent_store
                       ? c10::intrusive_ptr<c10d::Store>(c10::make_intrusive<c10d::PrefixStore>(
                             "/worker/attempt_" + std::to_string(env.restart_count), tcp))
                       : c10::intrusive_ptr<c10d::Store>(tcp);
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout());
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1" == env.master_addr ||
                                                                                    env.master_addr == "localhost"
                                                                                ? std::string("127.0.0.1")
                                                                                : env.master_addr));
    impl_->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, env.rank, env.world, opts);
  } catch (const std::exception& e) {
    throw Error("distributed: rank " + std::to_string(env.rank) + " of " + std::to_string(env.world) +
                " could not join the process group at " + env.master_addr + ":" + std::to_string(env.master_port) +
                " (" + e.what() + ")");
  }
}

ProcessGroup::~ProcessGroup() = default;

namespace {
[[noreturn]] void collective_failed(const DistEnv& env, const char* what, const std::exception& e) {
  std::string msg = e.what();
  if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
  throw Error(std::string("distributed: ") + what + " failed on rank " + std::to_string(env.rank) + " of " +
              std::to_string(env.world) + " (another rank died or timed out?): " + msg);
}
template <typename F>
void run_collective(const DistEnv& env, const char* what, F&& f) {
  try {
    f()->wait();
  } catch (const std::exception& e) {
    collective_failed(env, what, e);
  }
}
}  // namespace

struct PendingCollective::Impl {
  DistEnv env;
  const char* what;
  c10::intrusive_ptr<c10d::Work> work;
};

PendingCollective::PendingCollective() = default;
PendingCollective::PendingCollective(PendingCollective&&) noexcept = default;
PendingCollective& PendingCollective::operator=(PendingCollective&& o) noexcept {
  if (this != &o) {
    if (impl_) try { impl_->work->wait(); } catch (...) {}
    impl_ = std::move(o.impl_);
  }
  return *this;
}
PendingCollective::~PendingCollective() {
  if (impl_) try { impl_->work->wait(); } catch (...) {}  // its buffer may be freed next: never leave it in flight
}

void PendingCollective::wait() {
  if (!impl_) return;
  auto impl = std::move(impl_);
  try {
    impl->work->wait();
  } catch (const std::exception& e) {
    collective_failed(impl->env, impl->what, e);
  }
}

PendingCollective ProcessGroup::all_reduce_sum_async(const torch::Tensor& t, const char* what) {
  PendingCollective p;
  if (!env_.active()) return p;
  if (!t.is_cpu() || !t.is_contiguous())
    throw Error(std::string("distributed: ") + what + ": an asynchronous all-reduce needs a contiguous CPU tensor");
  std::vector<torch::Tensor> ts{t};
  try {
    auto work = impl_->pg->allreduce(ts);
    p.impl_ = std::make_unique<PendingCollective::Impl>(PendingCollective::Impl{env_, what, std::move(work)});
  } catch (const std::exception& e) {
    collective_failed(env_, what, e);
  }
  return p;
}

void ProcessGroup::all_reduce_sum(torch::Tensor& t, const char* what) {
  if (!env_.active()) return;
  std::vector<torch::Tensor> host{t.is_cpu() && t.is_contiguous() ? t : t.cpu().contiguous()};
  run_collective(env_, what, [&] { return impl_->pg->allreduce(host); });
  if (!host[0].is_same(t)) t.copy_(host[0]);
}

void ProcessGroup::broadcast(torch::Tensor& t, const char* what) {
  if (!env_.active()) return;
  std::vector<torch::Tensor> host{t.is_cpu() && t.is_contiguous() ? t : t.cpu().contiguous()};
  run_collective(env_, what, [&] { return impl_->pg->broadcast(host); });
  if (!host[0].is_same(t)) t.copy_(host[0]);
}

void ProcessGroup::barrier(const char* what) {
  if (!env_.active()) return;
  run_collective(env_, what, [&] { return impl_->pg->barrier(); });
}

}  // namespace skipbench
