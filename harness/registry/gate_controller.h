// gate_controller.h: the gate-regulariser plugin interface. A controller adds a loss on the per-layer gates to
// the cross-entropy of every micro-batch, and may adapt its coefficients once per optimizer step from that step's
// gate statistics (the released code's adaptive / proportional controllers; see ../shared/research/paper.md §2).
// Plugins live in variants/controllers/ and register themselves like variants do.
#pragma once
#include <torch/types.h>

#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "harness/common/json_field.h"
#include "harness/config/config.h"
#include "harness/config/options.h"

namespace skipbench {

// Per-layer gate statistics over all tokens of one optimizer step (all micro-batches), as fp64 [L] tensors on the
// model's device: a controller updates from them without the host reading them, so a whole training step can be
// queued on a GPU before its one read.
struct GateStepStats {
  torch::Tensor mean;  // E[g] per layer
  torch::Tensor var;   // E[g^2] - E[g]^2 per layer
  static GateStepStats from_host(const std::vector<double>& mean, const std::vector<double>& var);  // tests
};

class GateController {
 public:
  virtual ~GateController() = default;
  // Regularisation term for one micro-batch; gates: L tensors [B, T]. Returns a 0-d tensor (0 when unused).
  virtual torch::Tensor loss(const std::vector<torch::Tensor>& gates) = 0;
  // Called once per optimizer step, after all micro-batches, before the parameter update; device work only (no
  // read of a device value), so it queues like the rest of the step.
  virtual void update(const GateStepStats& stats) {}
  // The controller's state (coefficients, targets, EMAs), for metrics.jsonl, run.json and checkpoints (reads the
  // device: called after the step's work is queued).
  virtual boost::json::object state() const { return {}; }
  // Restores what state() returned (a resumed run continues with the same coefficients and EMAs); a missing or
  // mistyped member, or a vector of the wrong length, throws Error naming the file and the JSON path.
  virtual void load_state(const JsonField& state) {}
};

struct ControllerSpec {
  std::string name;
  std::string description;
  std::vector<OptionSpec> options;
  std::function<std::unique_ptr<GateController>(int64_t n_layers, const boost::json::object& options)> build;
};

class ControllerRegistry {
 public:
  static ControllerRegistry& instance();
  void add(ControllerSpec spec);
  const ControllerSpec& get(const std::string& name) const;  // throws Error listing known names
  std::vector<const ControllerSpec*> all() const;

 private:
  std::vector<ControllerSpec> specs_;
};

struct RegisterController {
  explicit RegisterController(ControllerSpec spec) { ControllerRegistry::instance().add(std::move(spec)); }
};

// Host values as a 1-d tensor on the device and in the dtype of `like`, copied without blocking the host (pinned
// staging buffer and a non-blocking copy on CUDA; a plain copy from pageable memory would synchronise the stream).
// Controllers with fixed coefficients build theirs with it once; adaptive ones keep theirs on the device.
torch::Tensor device_vector(const std::vector<double>& values, const torch::Tensor& like);
// A 1-d fp64 tensor as host values (a read of the device when it is there).
std::vector<double> host_vector(const torch::Tensor& t);

std::unique_ptr<GateController> build_controller(int64_t n_layers, const PluginConfig& controller);

}  // namespace skipbench
