// adaptive.cpp: the `adaptive` gate controller, as in the released code. Loss: mean_l(c_mu,l * E[g_l]) +
// mean_l(c_var,l * Var[g_l]), with per-layer targets for E[g] and Var[g]. Update, once per optimizer step:
// c += coef_update * sign(delta) where abs(delta) > delta_min: a bang-bang (integral-type) controller on the coefficient.
// The shared machinery (targets, EMAs, dead zone, clamping) is in target_controller.h.
#include "variants/controllers/target_controller.h"

namespace skipbench {
namespace {

ControllerSpec spec() {
  ControllerSpec s{"adaptive", "c += coef_update * sign(delta) where abs(delta) > delta_min: a bang-bang (integral-type) controller on the coefficient", target_options(0.0, 0.0), nullptr};
  s.options.push_back({"coef_update", OptionSpec::Kind::Number, 1e-3, "step size of the coefficient update", {}});
  s.build = [](int64_t n_layers, const boost::json::object& o) -> std::unique_ptr<GateController> {
    return std::make_unique<TargetController>(n_layers, o, TargetController::Loss::linear,
                                              TargetController::Rule::sign, o.at("coef_update").to_number<double>());
  };
  return s;
}

const RegisterController reg(spec());

}  // namespace
}  // namespace skipbench
