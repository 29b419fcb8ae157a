// op_timer.cpp: see op_timer.h.
#include "profiling/op_timer.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace skipbench::prof {

namespace {
using Clock = std::chrono::steady_clock;
struct Total {
  double seconds = 0;
  int64_t calls = 0;
};
std::mutex g_mu;
std::map<std::string, Total> g_totals;  // merged from every thread as operators end

struct Frame {
  Clock::time_point start;
  double children = 0;
  std::string key;  // with shapes: taken on entry (the inputs are only valid then)
};
thread_local std::vector<Frame> t_stack;
std::atomic<bool> g_shapes{false};

// "name [d0,d1] [d0]": the tensor inputs' sizes (scalars and lists shown as _)
std::string key_of(const at::RecordFunction& fn) {
  std::string k = fn.name();
  for (const auto& v : fn.inputs()) {
    k += ' ';
    if (!v.isTensor() || !v.toTensor().defined()) {
      k += '_';
      continue;
    }
    k += '[';
    const auto s = v.toTensor().sizes();
    for (size_t i = 0; i < s.size(); ++i) k += (i ? "," : "") + std::to_string(s[i]);
    k += ']';
  }
  return k;
}

std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction& fn) {
  t_stack.push_back({Clock::now(), 0, g_shapes ? key_of(fn) : std::string()});
  return nullptr;
}
void on_exit(const at::RecordFunction& fn, at::ObserverContext*) {
  if (t_stack.empty()) return;  // entered before the observer was added
  const Frame f = std::move(t_stack.back());
  t_stack.pop_back();
  const double inclusive = std::chrono::duration<double>(Clock::now() - f.start).count();
  if (!t_stack.empty()) t_stack.back().children += inclusive;
  std::lock_guard<std::mutex> lock(g_mu);
  auto& t = g_totals[f.key.empty() ? std::string(fn.name()) : f.key];
  t.seconds += inclusive - f.children;
  ++t.calls;
}
}  // namespace

OpTimer::OpTimer() = default;
OpTimer::~OpTimer() { stop(); }

void OpTimer::start(bool with_shapes) {
  stop();
  g_shapes = with_shapes;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_totals.clear();
  }
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(on_enter, on_exit)
                                      .needsInputs(with_shapes)
                                      .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  active_ = true;
}

void OpTimer::stop() {
  if (!active_) return;
  at::removeCallback(handle_);
  active_ = false;
}

boost::json::object OpTimer::to_json(int64_t steps, size_t top_n) const {
  std::vector<std::pair<std::string, Total>> rows;
  double total = 0;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    for (const auto& kv : g_totals) {
      rows.emplace_back(kv.first, kv.second);
      total += kv.second.seconds;
    }
  }
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  const double n = static_cast<double>(std::max<int64_t>(1, steps));
  boost::json::array ops;
  for (size_t i = 0; i < rows.size() && i < top_n; ++i)
    ops.push_back(boost::json::object{{"name", rows[i].first},
                                      {"ms_per_step", rows[i].second.seconds * 1e3 / n},
                                      {"share", total > 0 ? rows[i].second.seconds / total : 0.0},
                                      {"calls_per_step", static_cast<double>(rows[i].second.calls) / n}});
  return {{"ops", ops},
          {"total_ms_per_step", total * 1e3 / n},
          {"note", "self time per operator (inclusive minus the operators it calls), host clock, all threads; "
                   "on a GPU: launch overhead, not kernel time"}};
}

}  // namespace skipbench::prof
