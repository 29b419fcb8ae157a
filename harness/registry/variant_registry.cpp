// variant_registry.cpp: see variant_registry.h.
#include "harness/registry/variant_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "harness/common/error.h"

namespace skipbench {

VariantRegistry& VariantRegistry::instance() {
  static VariantRegistry r;
  return r;
}

void VariantRegistry::add(VariantSpec spec) {
  for (const auto& s : specs_) {
    if (s.name == spec.name) {
      std::fprintf(stderr, "skipbench: variant '%s' registered twice\n", spec.name.c_str());
      std::abort();
    }
  }
  if (spec.validate) {  // every build validates first, whoever calls it (the trainer calls spec.build directly)
    spec.build = [build = spec.build, validate = spec.validate](const ModelConfig& m, const boost::json::object& o) {
      validate(m, o);
      return build(m, o);
    };
  }
  specs_.push_back(std::move(spec));
}

const VariantSpec& VariantRegistry::get(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  std::string known;
  for (const auto* s : all()) known += (known.empty() ? "" : ", ") + s->name;
  throw Error("variant.name: unknown variant '" + name + "' (known: " + known + "; see `skipbench variants`)");
}

std::vector<const VariantSpec*> VariantRegistry::all() const {
  std::vector<const VariantSpec*> v;
  for (const auto& s : specs_) v.push_back(&s);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return v;
}

Transformer build_model(const ModelConfig& model, const PluginConfig& variant) {
  const auto& spec = VariantRegistry::instance().get(variant.name);
  auto opts = resolve_options(spec.name, spec.options, variant.options, "variant.options");
  return spec.build(model, opts);  // validates first (add())
}

void validate_model(const ModelConfig& model, const PluginConfig& variant) {
  const auto& spec = VariantRegistry::instance().get(variant.name);
  auto opts = resolve_options(spec.name, spec.options, variant.options, "variant.options");
  if (spec.validate) spec.validate(model, opts);
}

}  // namespace skipbench
