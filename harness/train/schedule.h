// schedule.h: the paper's learning-rate schedule as a multiplier of each group's peak lr. With W = int(warmup_frac
// * steps): for step s < W the factor rises linearly from start_factor to 1 (PyTorch LinearLR), then it decays by
// a half cosine from 1 to 0 over the remaining steps - W (CosineAnnealingLR, eta_min 0). `s` counts optimizer
// steps from 0; the factor of step s is the one used for the update of step s.
#pragma once
#include <cstdint>

namespace skipbench {

struct LrSchedule {
  int64_t steps;
  double warmup_frac = 0.1;
  double start_factor = 0.1;
  int64_t warmup_steps() const { return static_cast<int64_t>(warmup_frac * static_cast<double>(steps)); }
  // `step` may be fractional: FLOPs and wall-clock budgets measure progress continuously (step = progress * steps).
  double factor(double step) const;
};

}  // namespace skipbench
