// proportional.cpp: the `proportional` gate controller, as in the released code. Loss: mean_l(c_mu,l * E[g_l]) +
// mean_l(c_var,l * Var[g_l]), with per-layer targets for E[g] and Var[g]. Update, once per optimizer step:
// c += coef_update_multiplier * delta where abs(delta) > delta_min: an integral controller on the coefficient despite the name; the paper's main runs (targets 1 -> 0.5, multiplier 1e-3).
// The shared machinery (targets, EMAs, dead zone, clamping) is in target_controller.h.
#include "variants/controllers/target_controller.h"

namespace skipbench {
namespace {

ControllerSpec spec() {
  ControllerSpec s{"proportional", "c += coef_update_multiplier * delta where abs(delta) > delta_min: an integral controller on the coefficient despite the name; the paper's main runs (targets 1 -> 0.5, multiplier 1e-3)", target_options(0.0, 0.0), nullptr};
  s.options.push_back({"coef_update_multiplier", OptionSpec::Kind::Number, 1e-3, "step size of the coefficient update", {}});
  s.build = [](int64_t n_layers, const boost::json::object& o) -> std::unique_ptr<GateController> {
    return std::make_unique<TargetController>(n_layers, o, TargetController::Loss::linear,
                                              TargetController::Rule::proportional, o.at("coef_update_multiplier").to_number<double>());
  };
  return s;
}

const RegisterController reg(spec());

}  // namespace
}  // namespace skipbench
