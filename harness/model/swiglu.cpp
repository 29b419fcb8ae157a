// swiglu.cpp: see swiglu.h.
#include "harness/model/swiglu.h"

#include <torch/torch.h>

#include "harness/model/fused_cpu.h"

namespace skipbench {

SwiGLUImpl::SwiGLUImpl(int64_t dim, int64_t hidden) {
  using torch::nn::LinearOptions;
  w1 = register_module("w1", torch::nn::Linear(LinearOptions(dim, hidden).bias(false)));
  w2 = register_module("w2", torch::nn::Linear(LinearOptions(hidden, dim).bias(false)));
  w3 = register_module("w3", torch::nn::Linear(LinearOptions(dim, hidden).bias(false)));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x) { return w2(fused::swiglu(w1(x), w3(x))); }

}  // namespace skipbench
