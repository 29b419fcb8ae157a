// variant_registry.h: builds a model from a variant name and its JSON options. Each variant family lives in its
// own file under variants/ and registers itself with a static RegisterVariant object, e.g.
//   static RegisterVariant reg({"dense", "L plain blocks", {}, /*gated=*/false, build_dense});
// `skipbench variants` lists every registered variant with its options and defaults.
#pragma once
#include <boost/json/object.hpp>
#include <functional>
#include <string>
#include <vector>

#include "harness/config/config.h"
#include "harness/model/transformer.h"
#include "harness/config/options.h"

namespace skipbench {

struct VariantSpec {
  std::string name;
  std::string description;
  std::vector<OptionSpec> options;
  bool gated = false;  // has learned gates (gate metrics, mask FLOPs)
  // Builds the model from the model config and the resolved options (defaults filled in). Throws Error on a
  // config the variant cannot build (e.g. odd n_layers for skip_middle).
  std::function<Transformer(const ModelConfig&, const boost::json::object&)> build;
  // Checks, without allocating anything, what build would refuse (same Error text); empty: nothing beyond the
  // options' own kinds and choices. The registry makes build call it first; suite validation calls only this, so
  // a 30-run suite builds no model up front.
  std::function<void(const ModelConfig&, const boost::json::object&)> validate;
  // Standard-mode forward FLOPs per token of the policy's own modules that the estimator (flops.h) does not count
  // (MoD's routers and causal predictors); empty: none. The trainer adds 3x this (forward + backward) to the
  // training FLOPs and run.json adds it to the inference estimates (component "policy").
  std::function<double(const ModelConfig&, const boost::json::object&)> policy_flops;
};

class VariantRegistry {
 public:
  static VariantRegistry& instance();
  void add(VariantSpec spec);  // a duplicate name is a programming error (aborts with a message)
  const VariantSpec& get(const std::string& name) const;  // throws Error listing the known names
  std::vector<const VariantSpec*> all() const;             // sorted by name

 private:
  std::vector<VariantSpec> specs_;
};

struct RegisterVariant {
  explicit RegisterVariant(VariantSpec spec) { VariantRegistry::instance().add(std::move(spec)); }
};

// Resolves options and builds: the one call the trainer, the CLI and tests use (it validates first).
Transformer build_model(const ModelConfig& model, const PluginConfig& variant);
// Resolves options and runs the variant's validate: everything build_model would refuse, without building.
void validate_model(const ModelConfig& model, const PluginConfig& variant);

}  // namespace skipbench
