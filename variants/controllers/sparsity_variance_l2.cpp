// sparsity_variance_l2.cpp: the `sparsity_variance_l2` gate controller (the released code's): loss =
// mean(c_mu) * ||E[g] - mu*||_2 + mean(c_var) * ||Var[g] - var*||_2, the L2 norm taken over the layer vector (not
// squared, not per layer); fixed coefficients (default 0.1); the deltas' EMAs are tracked and logged only.
#include "variants/controllers/target_controller.h"

namespace skipbench {
namespace {

const RegisterController reg({
    "sparsity_variance_l2",
    "L2 distance of per-layer gate means and variances to their targets, fixed coefficients",
    target_options(0.1, 0.1, /*adaptive=*/false),  // no coef_min/coef_max/delta_min: nothing moves
    [](int64_t n_layers, const boost::json::object& o) -> std::unique_ptr<GateController> {
      return std::make_unique<TargetController>(n_layers, o, TargetController::Loss::l2, TargetController::Rule::none);
    },
});

}  // namespace
}  // namespace skipbench
