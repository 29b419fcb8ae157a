// schedule.cpp: see schedule.h.
#include "harness/train/schedule.h"

#include <cmath>

namespace skipbench {

double LrSchedule::factor(double s) const {
  const double W = static_cast<double>(warmup_steps());
  if (s < W) return start_factor + (1.0 - start_factor) * s / W;
  const double decay = static_cast<double>(steps) - W;
  if (decay <= 0) return 1.0;
  const double t = (s - W) / decay;
  return 0.5 * (1.0 + std::cos(M_PI * std::min(t, 1.0)));
}

}  // namespace skipbench
