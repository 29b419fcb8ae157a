// none.cpp: the `none` gate controller: no regularisation (the released code's `dummy`). With a gated variant
// this is the paper's "nocontrol" ablation: trainable gates, nothing pushing them to skip.
#include <torch/torch.h>

#include "harness/registry/gate_controller.h"

namespace skipbench {
namespace {

class NoController : public GateController {
 public:
  torch::Tensor loss(const std::vector<torch::Tensor>& gates) override {
    return torch::zeros({}, gates.empty() ? torch::TensorOptions() : gates[0].options().dtype(torch::kFloat32));
  }
};

const RegisterController reg({"none", "no gate regularisation", {},
                              [](int64_t, const boost::json::object&) { return std::make_unique<NoController>(); }});

}  // namespace
}  // namespace skipbench
