// proportional_derivative.cpp: the `proportional_derivative` gate controller, as in the released code. Loss: mean_l(c_mu,l * E[g_l]) +
// mean_l(c_var,l * Var[g_l]), with per-layer targets for E[g] and Var[g]. Update, once per optimizer step:
// c += coef_update_multiplier * delta where abs(delta) > delta_min and delta * (EMA_short - EMA_long) > deriv_min, i.e. while the error moves away from its target.
// The shared machinery (targets, EMAs, dead zone, clamping) is in target_controller.h.
#include "variants/controllers/target_controller.h"

namespace skipbench {
namespace {

ControllerSpec spec() {
  ControllerSpec s{"proportional_derivative", "c += coef_update_multiplier * delta where abs(delta) > delta_min and delta * (EMA_short - EMA_long) > deriv_min, i.e. while the error moves away from its target", target_options(0.0, 0.0), nullptr};
  s.options.push_back({"coef_update_multiplier", OptionSpec::Kind::Number, 1e-2, "step size of the coefficient update", {}});
  s.options.push_back({"deriv_min", OptionSpec::Kind::Number, 0.0, "minimum delta * (EMA_short - EMA_long) for an update", {}});
  s.build = [](int64_t n_layers, const boost::json::object& o) -> std::unique_ptr<GateController> {
    return std::make_unique<TargetController>(n_layers, o, TargetController::Loss::linear,
                                              TargetController::Rule::proportional_derivative, o.at("coef_update_multiplier").to_number<double>(),
                                              o.at("deriv_min").to_number<double>());
  };
  return s;
}

const RegisterController reg(spec());

}  // namespace
}  // namespace skipbench
