// ranges.cpp: see ranges.h.
#include "profiling/ranges.h"

#include <chrono>
#include <mutex>
#include <unordered_map>

#ifdef SKIPBENCH_WITH_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace skipbench::prof {

bool g_active = false;

namespace {
struct Frame {
  std::string path;
  std::chrono::steady_clock::time_point t0;
};
Instruments g_inst;
std::mutex g_mu;  // guards the registries below (ranges may open on autograd worker threads)
std::map<std::string, RangeStats> g_totals;
std::unordered_map<std::string, uint64_t> g_ids;
std::vector<std::string> g_paths;
thread_local std::vector<Frame> t_stack;
std::string g_adopt;  // the parent path for ranges opened on threads with an empty stack (guarded by g_mu)

#ifdef SKIPBENCH_WITH_CUDA
nvtxDomainHandle_t domain() {
  static nvtxDomainHandle_t d = nvtxDomainCreateA("skipbench");
  return d;
}
#endif

uint64_t id_of(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_ids.find(path);
  if (it != g_ids.end()) return it->second;
  g_paths.push_back(path);
  return g_ids[path] = g_paths.size() - 1;
}
}  // namespace

void configure(Instruments i) {
  g_inst = std::move(i);
  g_active = g_inst.nvtx || g_inst.timers || g_inst.correlation;
}

void disable() { configure({}); }

void Range::open(const char* name, int64_t index) {
  opened_ = true;
  std::string leaf = index >= 0 ? std::string(name) + "." + std::to_string(index) : std::string(name);
  std::string path;
  if (!t_stack.empty()) {
    path = t_stack.back().path + "/" + leaf;
  } else {
    std::lock_guard<std::mutex> lock(g_mu);
    path = g_adopt.empty() ? leaf : g_adopt + "/" + leaf;
  }
#ifdef SKIPBENCH_WITH_CUDA
  if (g_inst.nvtx) {
    nvtxEventAttributes_t a{};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.messageType = NVTX_MESSAGE_TYPE_ASCII;
    a.message.ascii = leaf.c_str();
    nvtxDomainRangePushEx(domain(), &a);
  }
#endif
  if (g_inst.correlation && g_inst.push) g_inst.push(id_of(path));
  if (g_inst.sync && g_inst.timers) g_inst.sync();
  t_stack.push_back({std::move(path), std::chrono::steady_clock::now()});
}

void Range::close() {
  if (g_inst.sync && g_inst.timers) g_inst.sync();
  const auto t1 = std::chrono::steady_clock::now();
  Frame f = std::move(t_stack.back());
  t_stack.pop_back();
  if (g_inst.timers) {
    std::lock_guard<std::mutex> lock(g_mu);
    auto& s = g_totals[f.path];
    s.seconds += std::chrono::duration<double>(t1 - f.t0).count();
    ++s.count;
  }
  if (g_inst.correlation && g_inst.pop) g_inst.pop();
#ifdef SKIPBENCH_WITH_CUDA
  if (g_inst.nvtx) nvtxDomainRangePop(domain());
#endif
}

namespace {
thread_local std::vector<Range*> t_manual;  // ranges opened by push_range on this thread
}

void push_range(const char* name, int64_t index) {
  if (!g_active) return;
  t_manual.push_back(new Range(name, index));
}

void pop_range() {
  if (t_manual.empty()) return;
  delete t_manual.back();
  t_manual.pop_back();
}

AdoptOtherThreads::AdoptOtherThreads() {
  if (!g_active || t_stack.empty()) return;
  std::lock_guard<std::mutex> lock(g_mu);
  previous_ = g_adopt;
  g_adopt = t_stack.back().path;
  set_ = true;
}

AdoptOtherThreads::~AdoptOtherThreads() {
  if (!set_) return;
  std::lock_guard<std::mutex> lock(g_mu);
  g_adopt = previous_;
}

std::map<std::string, RangeStats> timer_totals() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_totals;
}

void reset_timers() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_totals.clear();
}

std::vector<std::string> paths() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_paths;
}

}  // namespace skipbench::prof
