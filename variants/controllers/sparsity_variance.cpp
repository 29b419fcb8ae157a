// sparsity_variance.cpp: the `sparsity_variance` gate controller (the released code's): loss =
// mean_l(mean_coef_l * E[g_l]) + mean_l(var_coef_l * Var[g_l]) with fixed coefficients; the default var_coef is
// negative (-0.01), so the loss rewards variance, i.e. gates that are either 0 or 1.
#include <torch/torch.h>

#include "harness/registry/gate_controller.h"

namespace skipbench {
namespace {

class SparsityVarianceController : public GateController {
 public:
  SparsityVarianceController(std::vector<double> mc, std::vector<double> vc) : mc_(std::move(mc)), vc_(std::move(vc)) {}
  torch::Tensor loss(const std::vector<torch::Tensor>& gates) override {
    if (gates.empty()) return torch::zeros({});
    std::vector<torch::Tensor> m, v;
    for (const auto& g : gates) {
      m.push_back(g.to(torch::kFloat32).mean());
      v.push_back(g.to(torch::kFloat32).var());  // unbiased
    }
    auto M = torch::stack(m);
    auto t = [&](const std::vector<double>& x) { return device_vector(x, M); };
    return (t(mc_) * M).mean() + (t(vc_) * torch::stack(v)).mean();
  }
  boost::json::object state() const override {
    boost::json::array a, b;
    for (double x : mc_) a.push_back(x);
    for (double x : vc_) b.push_back(x);
    return {{"mean_coefs", a}, {"var_coefs", b}};
  }

 private:
  std::vector<double> mc_, vc_;
};

const RegisterController reg({
    "sparsity_variance",
    "loss = mean_l(mean_coef_l * mean gate_l) + mean_l(var_coef_l * var gate_l), fixed coefficients",
    {{"mean_coef", OptionSpec::Kind::NumberOrList, 0.01, "gate-mean coefficient: one number, or L numbers", {}},
     {"var_coef", OptionSpec::Kind::NumberOrList, -0.01, "gate-variance coefficient (negative rewards variance)", {}}},
    [](int64_t n_layers, const boost::json::object& o) -> std::unique_ptr<GateController> {
      const auto L = static_cast<size_t>(n_layers);
      return std::make_unique<SparsityVarianceController>(
          number_or_list(o.at("mean_coef"), L, "train.controller.options.mean_coef"),
          number_or_list(o.at("var_coef"), L, "train.controller.options.var_coef"));
    },
});

}  // namespace
}  // namespace skipbench
