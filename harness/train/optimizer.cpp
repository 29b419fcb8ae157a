// optimizer.cpp: see optimizer.h.
#include "harness/train/optimizer.h"

#include <ATen/ops/_foreach_add.h>
#include <ATen/ops/_fused_adamw.h>
#include <torch/torch.h>

#include <sstream>
#include <unistd.h>

#include <cstdio>

#include "harness/common/error.h"
#include "harness/common/json_io.h"

namespace skipbench {

AdamWImpl parse_adamw_impl(const std::string& s) {
  if (s == "fused") return AdamWImpl::fused;
  if (s == "loop") return AdamWImpl::loop;
  throw Error("train.optimizer.impl: expected \"fused\" or \"loop\", got \"" + s + "\"");
}

const char* to_string(AdamWImpl i) { return i == AdamWImpl::fused ? "fused" : "loop"; }

GroupedAdamW::GroupedAdamW(TransformerImpl& model, const TrainConfig& cfg) : impl_(parse_adamw_impl(cfg.optimizer_impl)) {
  auto pg = param_groups(model);
  auto add = [&](const char* name, const std::vector<std::pair<std::string, torch::Tensor>>& params,
                 const OptimGroup& hp) {
    Group g{name, hp, hp.lr, {}, {}, {}, {}};
    for (const auto& p : params)
      if (p.second.requires_grad()) g.params.push_back(p.second);  // frozen (train.freeze): not optimised
    if (g.params.empty()) return;
    groups_.push_back(std::move(g));
  };
  add("default", pg.default_group, cfg.default_group);
  add("norms", pg.norms, cfg.norms_group);
  add("masks", pg.masks, cfg.masks_group);
  if (impl_ == AdamWImpl::loop) {
    std::vector<torch::optim::OptimizerParamGroup> opg;
    for (const auto& g : groups_) {
      auto o = std::make_unique<torch::optim::AdamWOptions>(g.hp.lr);
      o->betas({g.hp.beta1, g.hp.beta2}).eps(g.hp.eps).weight_decay(g.hp.weight_decay);
      opg.emplace_back(g.params, std::move(o));
    }
    loop_ = std::make_unique<torch::optim::AdamW>(opg, torch::optim::AdamWOptions(cfg.default_group.lr));
    return;
  }
  torch::NoGradGuard ng;
  for (auto& g : groups_)
    for (const auto& p : g.params) {
      g.exp_avg.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      g.exp_avg_sq.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      g.steps.push_back(torch::zeros({}, p.options().dtype(torch::kFloat32)));
    }
}

GroupedAdamW::~GroupedAdamW() = default;

std::vector<std::string> GroupedAdamW::group_names() const {
  std::vector<std::string> n;
  for (const auto& g : groups_) n.push_back(g.name);
  return n;
}

void GroupedAdamW::step(double factor) {
  for (auto& g : groups_) g.lr = g.hp.lr * factor;
  if (loop_) {
    auto& pgs = loop_->param_groups();
    for (size_t i = 0; i < pgs.size(); ++i) static_cast<torch::optim::AdamWOptions&>(pgs[i].options()).lr(groups_[i].lr);
    loop_->step();
    return;
  }
  torch::NoGradGuard ng;
  for (auto& g : groups_) {
    std::vector<torch::Tensor> p, gr, m, v, s;  // the parameters that have a gradient this step
    for (size_t i = 0; i < g.params.size(); ++i) {
      const auto& grad = g.params[i].grad();
      if (!grad.defined()) continue;
      p.push_back(g.params[i]);
      gr.push_back(grad);
      m.push_back(g.exp_avg[i]);
      v.push_back(g.exp_avg_sq[i]);
      s.push_back(g.steps[i]);
    }
    if (p.empty()) continue;
    at::_foreach_add_(s, 1.0);  // the caller counts steps, on the device (no host value, no sync)
    at::_fused_adamw_(p, gr, m, v, /*max_exp_avg_sqs=*/{}, s, g.lr, g.hp.beta1, g.hp.beta2, g.hp.weight_decay,
                      g.hp.eps, /*amsgrad=*/false, /*maximize=*/false);
  }
}

void GroupedAdamW::zero_grad() {
  if (loop_) return loop_->zero_grad(/*set_to_none=*/true);
  for (auto& g : groups_)
    for (auto& p : g.params) p.mutable_grad() = torch::Tensor();
}

double GroupedAdamW::group_lr(size_t i) const { return groups_.at(i).lr; }

void GroupedAdamW::save(const std::string& path) {
  std::ostringstream bytes;  // in memory first, as save_model (checkpoint.cpp) explains
  if (loop_) {
    torch::save(*loop_, bytes);
  } else {
    std::vector<torch::Tensor> state;
    for (auto& g : groups_) {
      state.insert(state.end(), g.exp_avg.begin(), g.exp_avg.end());
      state.insert(state.end(), g.exp_avg_sq.begin(), g.exp_avg_sq.end());
      state.insert(state.end(), g.steps.begin(), g.steps.end());
    }
    torch::save(state, bytes);
  }
  write_file_atomic(path, bytes.str());
}

void GroupedAdamW::load(const std::string& path) {
  try {
    if (loop_) return torch::load(*loop_, path);
    std::vector<torch::Tensor> state;
    torch::load(state, path);
    size_t want = 0;
    for (const auto& g : groups_) want += 3 * g.params.size();
    if (state.size() != want)
      throw Error(path + ": optimizer state holds " + std::to_string(state.size()) + " tensors, this model needs " +
                  std::to_string(want) + " (was it saved by train.optimizer.impl=loop?)");
    torch::NoGradGuard ng;
    size_t k = 0;
    for (auto& g : groups_)
      for (auto* dst : {&g.exp_avg, &g.exp_avg_sq, &g.steps})
        for (auto& t : *dst) {
          if (!state[k].sizes().equals(t.sizes()))
            throw Error(path + ": optimizer state tensor " + std::to_string(k) + " has the wrong shape");
          t.copy_(state[k++]);
        }
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load optimizer state (" + e.what_without_backtrace() +
                "); was it saved with another train.optimizer.impl?");
  }
}

}  // namespace skipbench
