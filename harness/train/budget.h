// budget.h: a run's training budget (train.budget) turned into numbers the loop needs: the nominal number of
// optimizer steps (which sets the lr schedule's length), a hard cap, whether the budget is spent, and the fraction
// consumed. Kinds: "steps" (train.steps), "tokens" (floor(value / tokens per step) steps), "flops" (training FLOPs
// at the realised sparsity, standard convention: the run stops when they reach value; nominal steps are those a
// dense step's FLOPs would take, the cap 20x that), "wall_clock" (seconds of training steps, no cap). Budgets other
// than steps and tokens measure progress continuously, and the lr schedule follows that progress.
#pragma once
#include <cstdint>
#include <string>

#include "harness/config/config.h"

namespace skipbench {

struct Budget {
  std::string kind;
  double value = 0;          // in the kind's unit (steps for "steps")
  int64_t nominal_steps = 1;  // the lr schedule's length
  int64_t max_steps = 1;      // hard cap

  // Throws Error naming train.budget.value when a tokens budget is less than one step.
  Budget(const TrainConfig& tc, double tokens_per_step, double dense_step_flops);

  // What has been consumed so far.
  struct Spent {
    int64_t steps = 0;
    double flops = 0;    // standard-convention training FLOPs
    double seconds = 0;  // of training steps
  };
  bool done(const Spent& s) const;
  double progress(const Spent& s) const;  // in [0, 1]
  bool continuous() const { return kind == "flops" || kind == "wall_clock"; }
  // The schedule position of the next update: steps done, or progress x nominal steps for continuous kinds.
  double schedule_position(const Spent& s) const;
};

}  // namespace skipbench
