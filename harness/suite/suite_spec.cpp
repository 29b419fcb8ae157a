// suite_spec.cpp: load_suite (suite_spec.h): parse_suite with the checks that need the registries, the machine's
// memory and the data, so that everything a run needs resolves before any training starts, not hours into a suite.
// Nothing is built: variants validate their options and shapes (VariantSpec::validate), the memory estimate
// refuses impossible shapes, controllers are made once per run (a few numbers), data globs are expanded once.
#include "harness/suite/suite_spec.h"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <set>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/data/shard.h"
#include "harness/model/memory.h"
#include "harness/registry/gate_controller.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {

Suite load_suite(const std::string& file) {
  std::set<std::string> checked_models, checked_globs;
  SuiteChecks checks;
  checks.variant = [](const std::string& v) { (void)VariantRegistry::instance().get(v); };
  checks.run = [&](const Config& c) {
    const std::string key = compact_json(c.resolved.at("model")) + compact_json(c.resolved.at("variant"));
    if (checked_models.insert(key).second) {
      // from the shapes first: validation must not try to allocate an impossible model (host memory for runs that
      // will train on this machine's CPU; a GPU's memory is not estimated here)
      const bool on_cpu = c.train.device == "cpu" || !torch::cuda::is_available();
      if (on_cpu && host_memory_bytes() > 0)
        require_memory_fits(c.model, c.train.micro_batch_size, host_memory_bytes(), "model");
      validate_model(c.model, c.variant);  // refuses e.g. odd depth for skip_middle, building nothing
    }
    build_controller(c.model.n_layers, c.train.controller);
    for (const auto& gl : {c.data.train, c.data.val})
      if (checked_globs.insert(gl).second) data::expand_glob(gl, "data");
  };
  return parse_suite(read_json_file(file), file, checks);
}

}  // namespace skipbench
