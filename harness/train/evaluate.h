// evaluate.h: a pass over a whole (fixed) split without gradients: mean cross-entropy, per-layer gate metrics,
// and which tokens skip: each token's skip depth (the number of blocks whose gate is below zero_eps) against its
// loss, as a histogram by depth, Pearson and Spearman correlations, and, when per-token difficulty labels are
// given (synthetic data), skip depth and loss per difficulty class. Used for validation during training and by
// `skipbench eval`, with the soft (gated) forward or with real skipping (hard skip). Data parallel (a process
// group given): the split's batches are dealt over the ranks and every sum is all-reduced, so each rank does
// 1/world of the work and every rank returns the whole split's result.
#pragma once
#include <boost/json/object.hpp>
#include <optional>

#include "harness/config/config.h"
#include "harness/data/loader.h"
#include "harness/model/transformer.h"
#include "harness/train/gate_stats.h"

namespace skipbench {

class ProcessGroup;

struct EvalOptions {
  int64_t max_batches = 0;  // 0: every window of the split
  bool hard_skip = false;
  bool token_analysis = false;             // skip depth vs loss (costs a host copy per batch)
  data::TokenLoader* labels = nullptr;     // difficulty class per token, windows aligned with the data
  bool exits = false;                      // also the loss after every block (early exit through the shared head)
  // Data parallel: batch i of the split (i = 0, 1, ...) is evaluated by rank i mod world, and the loss, token
  // counts, exit losses, executed work, gate statistics and token analysis are summed over ranks (the forward
  // time is the slowest rank's). Every rank must call with the same data and options. A split of fewer batches
  // than ranks is evaluated whole by every rank (nothing to deal). Null or world 1: this process does it all.
  ProcessGroup* group = nullptr;
};

struct EvalResult {
  double loss = 0;
  double tokens = 0;
  double seconds = 0;           // forward time, host clock, device synchronised (split: the slowest rank's)
  int64_t ranks = 1;            // how many ranks the batches were dealt over (EvalOptions::group)
  double computed_fraction = 1;  // hard skip: (token, block) pairs computed / possible
  SkipWork work;                 // hard skip: the FLOPs executed, summed over batches
  GateStatsAccumulator stats;
  boost::json::object token_analysis;  // empty unless requested
  std::vector<double> exit_loss;       // opts.exits: mean CE exiting after block 1, 2, ..., L (the last = loss)
  explicit EvalResult(int64_t n_layers, double zero_eps) : stats(n_layers, zero_eps) {}
  boost::json::object to_json() const;
};

EvalResult evaluate(Transformer& model, data::TokenLoader& data, const Config& cfg, const torch::Device& device,
                    const EvalOptions& opts);

}  // namespace skipbench
