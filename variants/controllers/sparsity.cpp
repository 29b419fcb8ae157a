// sparsity.cpp: the `sparsity` gate controller: loss = mean over layers of c_l * E[g_l], with fixed per-layer
// coefficients c_l (default 0.01, the released code's default). Pushes every gate towards 0 at a constant rate.
#include <torch/torch.h>

#include "harness/registry/gate_controller.h"

namespace skipbench {
namespace {

class SparsityController : public GateController {
 public:
  explicit SparsityController(std::vector<double> coef) : coef_(std::move(coef)) {}
  torch::Tensor loss(const std::vector<torch::Tensor>& gates) override {
    if (gates.empty()) return torch::zeros({});
    auto means = torch::stack(gates_means(gates));  // [L]
    auto c = device_vector(coef_, means);
    return (c * means).mean();
  }
  boost::json::object state() const override {
    boost::json::array c;
    for (double x : coef_) c.push_back(x);
    return {{"mean_coef", c}};
  }

 private:
  static std::vector<torch::Tensor> gates_means(const std::vector<torch::Tensor>& gates) {
    std::vector<torch::Tensor> m;
    for (const auto& g : gates) m.push_back(g.to(torch::kFloat32).mean());
    return m;
  }
  std::vector<double> coef_;
};

const RegisterController reg({
    "sparsity",
    "loss = mean_l(coef_l * mean gate_l), fixed coefficients",
    {{"coef", OptionSpec::Kind::NumberOrList, 0.01, "per-layer coefficient: one number for all layers, or L numbers", {}}},
    [](int64_t n_layers, const boost::json::object& o) {
      return std::make_unique<SparsityController>(
          number_or_list(o.at("coef"), static_cast<size_t>(n_layers), "train.controller.options.coef"));
    },
});

}  // namespace
}  // namespace skipbench
