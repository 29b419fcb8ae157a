// step_timer.h: wall-clock per training step (median, tokens/s) and peak memory (host RSS; CUDA allocator peak
// when a GPU is in use). Host timers only; the CUPTI tracer and NVTX ranges are separate instruments.
#pragma once
#include <boost/json/object.hpp>
#include <chrono>
#include <vector>

namespace skipbench {

class StepTimer {
 public:
  void start() { t0_ = std::chrono::steady_clock::now(); }
  double stop();  // seconds since start(); recorded
  const std::vector<double>& seconds() const { return s_; }
  double median() const;  // 0 when empty

 private:
  std::chrono::steady_clock::time_point t0_;
  std::vector<double> s_;
};

double median_of(std::vector<double> v);
// {"steps_timed", "warmup_steps_excluded", "median_step_s", "mean_step_s", "min_step_s", "max_step_s",
// "tokens_per_s" (from the median)} of per-step seconds, skipping the first `warmup` steps when more remain.
boost::json::object step_time_summary(const std::vector<double>& seconds, double tokens_per_step, size_t warmup = 1);
// Peak resident set size of this process, in bytes (getrusage).
double peak_host_memory_bytes();

}  // namespace skipbench
