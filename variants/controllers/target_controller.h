// target_controller.h: the machinery shared by the released code's target-based gate controllers (adaptive,
// proportional, proportional_derivative, sparsity_variance_l2; see ../shared/research/paper.md §2).
//   targets   per-layer gate-mean targets mu*: linspace(start, end) over the L/2 first-half layers, mirrored for
//             the second half (or an explicit list of L/2 values); variance targets mu*(1 - mu*) + delta, >= 0.
//   loss      linear: mean_l(c_mu,l * E[g_l]) + mean_l(c_var,l * Var[g_l])   (Var unbiased, per micro-batch)
//             l2:     mean(c_mu) * ||E[g] - mu*||_2 + mean(c_var) * ||Var[g] - var*||_2  (norm over layers)
//   update    once per optimizer step from the step's gate means and variances (device tensors: the update is
//             queued with the step, no host read; coefficients, targets and EMAs live on the gates' device, fp64):
//             deltas = stat - target feed a
//             short and a long EMA (beta = 1 - 1/steps, the first update initialises), then the rule moves the
//             coefficients where |delta| > delta_min, and then the whole vector is clamped to [coef_min,
//             coef_max] (as the released code does after every update). Fixed-coefficient controllers (l2) have
//             neither a dead zone nor a clamp.
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "harness/registry/gate_controller.h"

namespace skipbench {

struct Ema {
  double beta = 0;
  torch::Tensor value;  // undefined until the first update
  explicit Ema(double steps = 1) : beta(1.0 - 1.0 / steps) {}
  bool initialised() const { return value.defined(); }
  void update(const torch::Tensor& x);
};

// Mean targets for all L layers from the options mean_targets ("auto" or a list/space-separated string of L/2
// values), mean_target_start and mean_target_end. Throws Error naming the option.
std::vector<double> make_mean_targets(int64_t n_layers, const boost::json::object& options);
std::vector<double> make_var_targets(const std::vector<double>& mean_targets, double delta);

// The options every target controller takes; defaults for the initial coefficients differ by controller.
// adaptive: the coefficients move (adaptive, proportional, PD), so coef_min, coef_max and delta_min exist too;
// sparsity_variance_l2 keeps its coefficients fixed and refuses them rather than ignore them.
std::vector<OptionSpec> target_options(double mean_coef_init, double var_coef_init, bool adaptive = true);

class TargetController : public GateController {
 public:
  enum class Loss { linear, l2 };
  enum class Rule { none, sign, proportional, proportional_derivative };
  // `step`: coef_update (sign) or coef_update_multiplier (proportional, PD); deriv_min: PD only.
  TargetController(int64_t n_layers, const boost::json::object& options, Loss loss, Rule rule, double step = 0,
                   double deriv_min = 0);

  torch::Tensor loss(const std::vector<torch::Tensor>& gates) override;
  void update(const GateStepStats& stats) override;
  boost::json::object state() const override;
  void load_state(const JsonField& state) override;

  const std::vector<double>& mean_targets() const { return mean_targets_; }
  const std::vector<double>& var_targets() const { return var_targets_; }

 private:
  void to_device(const torch::Device& d);  // moves coefficients, targets and EMAs (once, at the first use)
  torch::Tensor step_coefs(const torch::Tensor& coefs, const torch::Tensor& deltas, const Ema& shrt, const Ema& lng) const;
  Loss loss_;
  Rule rule_;
  double step_, deriv_min_, delta_min_, coef_min_, coef_max_;
  std::vector<double> mean_targets_, var_targets_;  // host copies, for state()
  torch::Tensor mean_t_, var_t_, mean_coefs_, var_coefs_;  // [L] fp64 on the device
  Ema mean_short_, mean_long_, var_short_, var_long_;
  int64_t updates_ = 0;
};

}  // namespace skipbench
