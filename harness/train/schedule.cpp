// schedule.cpp: see schedule.h.
#include "harness/train/schedule.h"

#include <cmath>

namespace skipbench {

double LrSchedule::factor(int64_t s) const {
  const int64_t W = warmup_steps();
  if (s < W) return start_factor + (1.0 - start_factor) * static_cast<double>(s) / static_cast<double>(W);
  const int64_t decay = steps - W;
  if (decay <= 0) return 1.0;
  const double t = static_cast<double>(s - W) / static_cast<double>(decay);
  return 0.5 * (1.0 + std::cos(M_PI * std::min(t, 1.0)));
}

}  // namespace skipbench
