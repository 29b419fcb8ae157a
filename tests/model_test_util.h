// model_test_util.h: helpers for the tests that build models (test_mod, test_layerdrop, test_residual_gates):
// seeded random tokens and a model parameter looked up by its module path.
#pragma once
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "harness/model/transformer.h"

namespace skipbench::testing {

// [B, T] int64 tokens below vocab, drawn after torch::manual_seed(seed) (the same tokens for the same arguments).
inline torch::Tensor random_tokens(int64_t B, int64_t T, int64_t vocab, uint64_t seed = 42) {
  torch::manual_seed(seed);
  return torch::randint(vocab, {B, T}, torch::kInt64);
}

// The parameter named `name` ("gates.routers.0.weight"); a test failure and an undefined tensor when absent.
inline torch::Tensor param_of(Transformer& m, const std::string& name) {
  for (const auto& p : m->named_parameters())
    if (p.key() == name) return p.value();
  ADD_FAILURE() << "no parameter " << name;
  return {};
}

}  // namespace skipbench::testing
