// trainer.h: one complete training run. Validates everything first (variant, controller, data), so a bad input
// fails before any output exists; then trains with AdamW over three parameter groups, warm-up + cosine schedule,
// gradient accumulation up to the global batch, the gate controller's loss and updates, validation every
// val_every steps and at the end over the whole fixed validation split; and writes metrics.jsonl and run.json.
// With one seed, two CPU runs (same thread count) give bit-identical loss curves.
// Budgets: steps, tokens, training FLOPs (at the realised sparsity) or wall-clock (train.budget).
// Resumable: with train.checkpoint_every > 0 it checkpoints model, optimizer, controller, data position and the
// curves so far into DIR/checkpoint/; train() on a DIR holding a checkpoint (and no run.json) resumes from it, and
// the resumed loss curve is bit-identical to an uninterrupted one on CPU.
#pragma once
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <ostream>
#include <csignal>
#include <string>
#include <vector>

#include "harness/config/config.h"

namespace skipbench {

struct TrainOptions {
  std::ostream* progress = nullptr;  // live progress lines (step, loss, tok/s, ETA); null: silent
  int64_t stop_after_steps = 0;      // tests: stop as if killed after this many steps of this invocation
  // Set (to non-zero) by a signal handler: the run writes a checkpoint after the step in progress and returns
  // status "stopped" (SIGTERM / SIGINT / SIGUSR1 in `skipbench train`: Slurm preemption and time limits).
  const volatile std::sig_atomic_t* stop_flag = nullptr;
  std::function<void(int64_t step, double seconds)> on_step;  // after each optimizer step (profiling)
  bool skip_final_validation = false;                          // profiling runs measure steps only
  // Tests: called at the start of every training step but an invocation's first; the object it returns lives
  // until the step's work is queued, just before its one read of the device (the GPU test makes any host
  // synchronisation inside that window an error, so it checks the trainer's real step).
  std::function<std::shared_ptr<void>()> queue_guard;
};

struct TrainResult {
  std::string status;               // "completed", "diverged", "interrupted" (stop_after_steps), or "stopped"
                                    // (stop_flag: checkpointed after the step in progress)
  std::vector<double> train_loss;   // cross-entropy per optimizer step (mean over its micro-batches)
  std::vector<int64_t> val_steps;   // steps after which validation ran
  std::vector<double> val_loss;     // mean cross-entropy over the validation split, per validation
  boost::json::object report;       // the run.json document
  std::string report_path;          // empty when out_dir was empty
};

// out_dir: created if missing; empty: write nothing (tests). Throws Error when out_dir already holds a finished
// run (run.json) or a checkpoint of a different config.
TrainResult train(const Config& cfg, const std::string& out_dir, const TrainOptions& opts = {});

}  // namespace skipbench
