// memory.cpp: see memory.h.
#include "harness/model/memory.h"

#include <cstdio>

#include "harness/common/error.h"

namespace skipbench {

MemoryEstimate estimate_training_memory(const ModelConfig& m, int64_t micro_batch_size) {
  const double d = static_cast<double>(m.dim), L = static_cast<double>(m.n_layers), V = static_cast<double>(m.vocab_size);
  const double kv = static_cast<double>(m.kv_heads() * m.head_dim()), h = static_cast<double>(m.hidden());
  const double H = static_cast<double>(m.n_heads), T = static_cast<double>(m.max_seq_len);
  const double tokens = static_cast<double>(micro_batch_size) * T;
  MemoryEstimate e;
  e.parameters = 2 * V * d + L * (2 * d * d + 2 * d * kv + 3 * d * h + 4 * d + (d + 1) / 2) + 2 * d;
  e.state_bytes = 16 * e.parameters;
  e.activation_bytes = 4 * (tokens * L * (16 * d + 4 * h) + static_cast<double>(micro_batch_size) * L * H * 2 * T * T +
                            3 * tokens * V);
  return e;
}

void require_memory_fits(const ModelConfig& model, int64_t micro_batch_size, double limit, const std::string& what) {
  const auto e = estimate_training_memory(model, micro_batch_size);
  if (!(e.total() <= limit)) {
    char buf[400];
    std::snprintf(buf, sizeof buf,
                  "%s: this run needs about %.3g GiB (%.3g parameters: %.3g GiB with gradients and AdamW state; "
                  "activations %.3g GiB at micro-batch %lld) but %s has %.3g GiB; shrink the model or "
                  "train.micro_batch_size",
                  what.c_str(), e.total() / 1073741824.0, e.parameters, e.state_bytes / 1073741824.0,
                  e.activation_bytes / 1073741824.0, static_cast<long long>(micro_batch_size), "this machine",
                  limit / 1073741824.0);
    throw Error(buf);
  }
}

}  // namespace skipbench
