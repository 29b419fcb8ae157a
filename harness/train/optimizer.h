// optimizer.h: AdamW over the model's three parameter groups (default, norms, masks), each with its own lr, betas,
// eps and weight decay (the paper's: lr 1e-3, betas (0.8, 0.95), eps 1e-10, wd 0 for all three).
//
// Two implementations (train.optimizer.impl), the same update rule:
//   fused  at::_fused_adamw_ (one multi-tensor kernel per group on CUDA, a vectorised loop on CPU); step counts
//          live on the device as 0-d fp32 tensors, so a step needs no host value and no synchronisation.
//   loop   torch::optim::AdamW: about six kernels per parameter, host-side step counts. The LibTorch reference.
// Tests show the two agree to float rounding over several steps.
#pragma once
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "harness/config/config.h"
#include "harness/model/transformer.h"

namespace torch::optim {
class AdamW;
}

namespace skipbench {

enum class AdamWImpl { fused, loop };
AdamWImpl parse_adamw_impl(const std::string& s);  // throws Error naming train.optimizer.impl
const char* to_string(AdamWImpl i);

class GroupedAdamW {
 public:
  GroupedAdamW(TransformerImpl& model, const TrainConfig& cfg);
  ~GroupedAdamW();
  // Sets every group's lr to its peak lr times `factor`, then steps. Parameters without a gradient are skipped.
  void step(double factor);
  void zero_grad();
  double group_lr(size_t group) const;  // 0: default, 1: norms, 2: masks (only groups with parameters exist)
  size_t num_groups() const { return groups_.size(); }
  std::vector<std::string> group_names() const;
  AdamWImpl impl() const { return impl_; }
  // Optimizer state to a file (atomically) and back; load refuses a file of another implementation or shape.
  void save(const std::string& path);
  void load(const std::string& path);

 private:
  struct Group {
    std::string name;
    OptimGroup hp;
    double lr = 0;
    std::vector<torch::Tensor> params, exp_avg, exp_avg_sq, steps;  // state: fused only
  };
  AdamWImpl impl_;
  std::vector<Group> groups_;
  std::unique_ptr<torch::optim::AdamW> loop_;
};

}  // namespace skipbench
