// dense.cpp: the `dense` variant: L plain blocks, no gates. The paper's dense baselines of several depths are this
// variant at n_layers = 2, 4, ..., 12 (its released code instead used skip_middle with zero_init_masks=true,
// which trains the same function with dead gates; both are offered).
#include "harness/registry/variant_registry.h"

namespace skipbench {
namespace {

Transformer build_dense(const ModelConfig& cfg, const boost::json::object&) { return Transformer(cfg, nullptr); }

const RegisterVariant reg({"dense", "L plain blocks (no gates)", {}, /*gated=*/false, build_dense, /*validate=*/{}});

}  // namespace
}  // namespace skipbench
