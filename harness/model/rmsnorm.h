// rmsnorm.h: RMSNorm (Zhang & Sennrich 2019) as Llama uses it: y = x / sqrt(mean(x^2) + eps) * weight, computed
// in fp32 and cast back to the input's dtype; weight initialised to 1.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace skipbench {

class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RMSNorm);

}  // namespace skipbench
