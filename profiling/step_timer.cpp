// step_timer.cpp: see step_timer.h.
#include "profiling/step_timer.h"

#include <sys/resource.h>

#include <algorithm>
#include <numeric>

namespace skipbench {

double StepTimer::stop() {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  s_.push_back(s);
  return s;
}

double median_of(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double StepTimer::median() const { return median_of(s_); }

boost::json::object step_time_summary(const std::vector<double>& s, double tokens_per_step, size_t warmup) {
  std::vector<double> v(s.begin() + static_cast<long>(s.size() > warmup ? warmup : 0), s.end());
  const double med = median_of(v);
  boost::json::object o{{"steps_timed", static_cast<int64_t>(v.size())},
                        {"warmup_steps_excluded", static_cast<int64_t>(s.size() - v.size())}, {"median_step_s", med}};
  if (!v.empty()) {
    o["mean_step_s"] = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
    o["min_step_s"] = *std::min_element(v.begin(), v.end());
    o["max_step_s"] = *std::max_element(v.begin(), v.end());
  }
  o["tokens_per_s"] = med > 0 ? tokens_per_step / med : 0.0;
  return o;
}

double peak_host_memory_bytes() {
  struct rusage ru {};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) * 1024.0;  // Linux reports KiB
}

}  // namespace skipbench
