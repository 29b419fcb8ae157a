// optimizer.cpp: see optimizer.h.
#include "harness/train/optimizer.h"

#include <torch/torch.h>

namespace skipbench {

GroupedAdamW::GroupedAdamW(TransformerImpl& model, const TrainConfig& cfg) {
  auto groups = param_groups(model);
  std::vector<torch::optim::OptimizerParamGroup> pg;
  auto add = [&](const char* name, const std::vector<std::pair<std::string, torch::Tensor>>& params,
                 const OptimGroup& g) {
    if (params.empty()) return;
    std::vector<torch::Tensor> ps;
    for (const auto& p : params) ps.push_back(p.second);
    auto o = std::make_unique<torch::optim::AdamWOptions>(g.lr);
    o->betas({g.beta1, g.beta2}).eps(g.eps).weight_decay(g.weight_decay);
    pg.emplace_back(ps, std::move(o));
    peaks_.push_back(g.lr);
    names_.emplace_back(name);
  };
  add("default", groups.default_group, cfg.default_group);
  add("norms", groups.norms, cfg.norms_group);
  add("masks", groups.masks, cfg.masks_group);
  opt_ = std::make_unique<torch::optim::AdamW>(pg, torch::optim::AdamWOptions(cfg.default_group.lr));
}

void GroupedAdamW::step(double factor) {
  auto& groups = opt_->param_groups();
  for (size_t i = 0; i < groups.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(groups[i].options()).lr(peaks_[i] * factor);
  opt_->step();
}

void GroupedAdamW::zero_grad() { opt_->zero_grad(/*set_to_none=*/true); }

double GroupedAdamW::group_lr(size_t i) const {
  return static_cast<const torch::optim::AdamWOptions&>(opt_->param_groups().at(i).options()).lr();
}

}  // namespace skipbench
