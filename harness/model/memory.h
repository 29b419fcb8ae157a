// memory.h: how much host or device memory a training run needs, estimated from its shapes alone (nothing is
// allocated), so an impossible config (model.n_layers = 1e10) is refused at once, naming the estimate and the
// limit, instead of running until the kernel kills it. The estimate: fp32 parameters, their gradients and AdamW's
// two moments (16 bytes per parameter), plus the activations autograd keeps for one micro-batch (per block about
// 16 x dim + 4 x ffn_hidden floats per token and two T x T score matrices per head; the logits three times). It
// is an estimate, not a plan. Measured on CPU (2026-12-01): the tiny shape at dim 128 / micro-batch 16 peaks at
// 668 MiB above the process's 375 MiB baseline (estimate 640), at dim 256 / micro-batch 32 at 2,170 (estimate
// 2,144). The parameter count is exact for skip_middle models (tested).
#pragma once
#include <cstdint>
#include <string>

#include "harness/config/config.h"

namespace skipbench {

struct MemoryEstimate {
  double parameters = 0;       // count
  double state_bytes = 0;      // weights, gradients, AdamW moments
  double activation_bytes = 0; // one micro-batch's saved activations and logits
  double total() const { return state_bytes + activation_bytes; }
};

MemoryEstimate estimate_training_memory(const ModelConfig& model, int64_t micro_batch_size);

// Throws Error (naming `what`, the estimate and the limit) when the estimate exceeds limit_bytes.
void require_memory_fits(const ModelConfig& model, int64_t micro_batch_size, double limit_bytes, const std::string& what);

}  // namespace skipbench
