// gate_stats.h: per-layer gate metrics accumulated over many tokens (a step's micro-batches, or a whole
// validation pass): means and variances of the soft masks s_l, accumulated masks S_l and gates g_l, the fraction
// of zero gates (|g| < zero_eps: the tokens that skip that block, the "sparsity" FLOPs use), and the mean residual
// L2 norm after each block (when the forwards recorded it). Per-branch gates (residual_gates): the mean and
// variance of each branch's importance score and the fraction of tokens that skipped it; zero_fraction() is then
// the block sparsity those skips are worth in FLOPs (ForwardOutput::branch_saving), so the estimator charges them. Sums are kept in fp64 so results do not depend on how tokens are split into batches.
// The sums stay on the model's device: add() enqueues a few reductions and never waits for the device; the first
// read (gate_mean(), to_json(), ...) after an add copies every sum to the host at once (one synchronisation).
#pragma once
#include <boost/json/object.hpp>
#include <functional>
#include <vector>

#include "harness/model/transformer.h"

namespace skipbench {

class GateStatsAccumulator {
 public:
  GateStatsAccumulator(int64_t n_layers, double zero_eps) : L_(n_layers), eps_(zero_eps) {}
  void add(const ForwardOutput& out);  // no gradients taken
  // Data parallel: replaces every sum (and the token count) by its sum over ranks; `sum` reduces one fp64 tensor
  // in place (ProcessGroup::all_reduce_sum). Every rank must hold the same kinds of sums (same model, same step).
  void all_reduce(const std::function<void(torch::Tensor&)>& sum);
  bool gated() const { return gate_acc_.defined(); }
  bool branch_gated() const { return branch_acc_.defined(); }
  // per branch (attention, FFN of block 0, then block 1, ...): the fraction of tokens that skipped it
  std::vector<double> branch_skipped() const;
  double tokens() const { return tokens_; }

  // E[g] and E[g^2] - E[g]^2 per layer as fp64 [L] tensors on the device, without reading them (the controller's
  // update queues with the step); gated models only.
  std::pair<torch::Tensor, torch::Tensor> gate_mean_var_device() const;
  std::vector<double> gate_mean() const;
  std::vector<double> gate_var() const;
  std::vector<double> zero_fraction() const;  // per layer; all 0 for a dense model
  boost::json::object to_json() const;        // every metric per layer, plus mean zero fraction ("sparsity")

 private:
  struct Moments {
    std::vector<double> sum, sumsq;
  };
  static void add_moments(torch::Tensor& acc, const std::vector<torch::Tensor>& xs);
  void sync() const;  // device sums -> host vectors, when an add() happened since the last read
  int64_t L_;
  double eps_;
  double tokens_ = 0;
  // on the device, fp64: gates [3, L] (sum g, sum g^2, count |g| < eps); the others [2, n] (sum x, sum x^2)
  torch::Tensor gate_acc_, soft_acc_, accum_acc_, resid_acc_;
  torch::Tensor branch_acc_;  // [3, 2L]: sum score, sum score^2, count skipped
  std::pair<double, double> branch_saving_{0.0, 0.0};
  mutable bool dirty_ = false;
  mutable std::vector<double> gate_sum_, gate_sumsq_, zeros_;
  mutable Moments soft_, accum_, resid_, branch_;
  mutable std::vector<double> branch_skips_;
};

}  // namespace skipbench
