// budget.cpp: see budget.h.
#include "harness/train/budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "harness/common/error.h"

namespace skipbench {

Budget::Budget(const TrainConfig& tc, double tokens_per_step, double dense_step_flops)
    : kind(tc.budget_kind), value(tc.budget_kind == "steps" ? static_cast<double>(tc.steps) : tc.budget_value) {
  int64_t nominal = tc.steps;
  if (kind == "tokens") {
    nominal = static_cast<int64_t>(std::floor(value / tokens_per_step));
    if (nominal < 1)
      throw Error("train.budget.value: " + std::to_string(value) + " tokens is less than one step (" +
                  std::to_string(static_cast<int64_t>(tokens_per_step)) + " tokens)");
  } else if (kind == "flops") {
    nominal = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(value / dense_step_flops)));
  }
  nominal_steps = nominal;
  max_steps = (kind == "steps" || kind == "tokens") ? nominal : 20 * nominal;
  if (kind == "wall_clock") max_steps = std::numeric_limits<int64_t>::max();
}

bool Budget::done(const Spent& s) const {
  if (s.steps >= max_steps) return true;
  if (kind == "flops") return s.flops >= value;
  if (kind == "wall_clock") return s.seconds >= value;
  return false;
}

double Budget::progress(const Spent& s) const {
  if (kind == "flops") return std::min(1.0, s.flops / value);
  if (kind == "wall_clock") return std::min(1.0, s.seconds / value);
  return static_cast<double>(s.steps) / static_cast<double>(nominal_steps);
}

double Budget::schedule_position(const Spent& s) const {
  return continuous() ? progress(s) * static_cast<double>(nominal_steps) : static_cast<double>(s.steps);
}

}  // namespace skipbench
