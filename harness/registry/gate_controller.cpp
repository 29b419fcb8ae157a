// gate_controller.cpp: see gate_controller.h.
#include "harness/registry/gate_controller.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "harness/common/error.h"

namespace skipbench {

ControllerRegistry& ControllerRegistry::instance() {
  static ControllerRegistry r;
  return r;
}

void ControllerRegistry::add(ControllerSpec spec) {
  for (const auto& s : specs_) {
    if (s.name == spec.name) {
      std::fprintf(stderr, "skipbench: controller '%s' registered twice\n", spec.name.c_str());
      std::abort();
    }
  }
  specs_.push_back(std::move(spec));
}

const ControllerSpec& ControllerRegistry::get(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  std::string known;
  for (const auto* s : all()) known += (known.empty() ? "" : ", ") + s->name;
  throw Error("train.controller.name: unknown gate controller '" + name + "' (known: " + known + ")");
}

std::vector<const ControllerSpec*> ControllerRegistry::all() const {
  std::vector<const ControllerSpec*> v;
  for (const auto& s : specs_) v.push_back(&s);
  std::sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return v;
}

torch::Tensor device_vector(const std::vector<double>& values, const torch::Tensor& like) {
  auto host = torch::tensor(values, torch::kFloat64);
  if (like.device().is_cpu()) return host.to(like.scalar_type());
  return host.pin_memory().to(like.device(), like.scalar_type(), /*non_blocking=*/true);
}

std::vector<double> host_vector(const torch::Tensor& t) {
  auto h = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  return {h.data_ptr<double>(), h.data_ptr<double>() + h.numel()};
}

GateStepStats GateStepStats::from_host(const std::vector<double>& mean, const std::vector<double>& var) {
  return {torch::tensor(mean, torch::kFloat64), torch::tensor(var, torch::kFloat64)};
}

std::unique_ptr<GateController> build_controller(int64_t n_layers, const PluginConfig& c) {
  const auto& spec = ControllerRegistry::instance().get(c.name);
  return spec.build(n_layers, resolve_options(spec.name, spec.options, c.options, "train.controller.options"));
}

}  // namespace skipbench
