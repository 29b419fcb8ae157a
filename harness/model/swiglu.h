// swiglu.h: the SwiGLU feed-forward network (Shazeer 2020): w2(silu(w1 x) * w3 x), no biases. The paper uses a
// hidden width of 4*dim (the Llama 2/3 two-thirds scaling is disabled in its code).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace skipbench {

class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);
  torch::nn::Linear w1{nullptr}, w2{nullptr}, w3{nullptr};
};
TORCH_MODULE(SwiGLU);

}  // namespace skipbench
