// optimizer.h: AdamW over the model's three parameter groups (default, norms, masks), each with its own lr, betas,
// eps and weight decay (the paper's: lr 1e-3, betas (0.8, 0.95), eps 1e-10, wd 0 for all three).
#pragma once
#include <torch/optim/adamw.h>

#include <memory>

#include "harness/config/config.h"
#include "harness/model/transformer.h"

namespace skipbench {

class GroupedAdamW {
 public:
  GroupedAdamW(TransformerImpl& model, const TrainConfig& cfg);
  // Sets every group's lr to its peak lr times `factor`, then steps.
  void step(double factor);
  void zero_grad();
  double group_lr(size_t group) const;  // 0: default, 1: norms, 2: masks (only groups with parameters exist)
  size_t num_groups() const { return peaks_.size(); }
  std::vector<std::string> group_names() const { return names_; }
  torch::optim::AdamW& impl() { return *opt_; }

 private:
  std::unique_ptr<torch::optim::AdamW> opt_;
  std::vector<double> peaks_;
  std::vector<std::string> names_;
};

}  // namespace skipbench
