// test_optimizer.cpp: the two AdamW implementations (fused: at::_fused_adamw_, loop: torch::optim::AdamW) against
// a hand-computed update and against each other; state save/load; parameters without gradients.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/registry/variant_registry.h"
#include "harness/train/optimizer.h"
#include "tests/test_util.h"

namespace skipbench {
namespace {

TrainConfig config_with(const std::string& impl) {
  TrainConfig tc;
  tc.optimizer_impl = impl;
  tc.default_group.lr = 0.1;
  tc.norms_group = tc.default_group;
  tc.masks_group = tc.default_group;
  tc.masks_group.weight_decay = 0.1;  // the other groups: 0
  return tc;
}

Transformer small() {
  torch::manual_seed(3);
  return build_model(skipbench::testing::small_model(4), {"skip_middle", {}});
}

void set_grads(Transformer& m, uint64_t seed) {
  torch::manual_seed(seed);
  for (auto& p : m->parameters()) p.mutable_grad() = torch::randn_like(p);
}

// One step with every parameter 1 and every gradient 0.5, lr 0.1, betas (0.8, 0.95), eps 1e-10:
//   p <- p (1 - lr wd);  m = 0.2 * 0.5 = 0.1, v = 0.05 * 0.25 = 0.0125;  m^ = 0.5, v^ = 0.25
//   p <- p - lr m^ / (sqrt(v^) + eps) = p - 0.1          => 0.9 (wd 0), 0.99 - 0.1 = 0.89 (masks, wd 0.1)
TEST(Optimizer, OneStepMatchesAHandComputedAdamWUpdateInBothImplementations) {
  for (const std::string impl : {"fused", "loop"}) {
    SCOPED_TRACE(impl);
    auto m = small();
    {
      torch::NoGradGuard ng;
      for (auto& p : m->parameters()) p.fill_(1.0);
    }
    GroupedAdamW opt(*m, config_with(impl));
    for (auto& p : m->parameters()) p.mutable_grad() = torch::full_like(p, 0.5);
    opt.step(1.0);
    auto g = param_groups(*m);
    for (const auto& [name, p] : g.default_group) EXPECT_NEAR(p.min().item<double>(), 0.9, 1e-6) << name;
    for (const auto& [name, p] : g.norms) EXPECT_NEAR(p.max().item<double>(), 0.9, 1e-6) << name;
    ASSERT_FALSE(g.masks.empty());
    for (const auto& [name, p] : g.masks) EXPECT_NEAR(p.max().item<double>(), 0.89, 1e-6) << name;
  }
}

TEST(Optimizer, FusedAndLoopImplementationsAgreeOverSeveralSteps) {
  auto a = small(), b = small();
  GroupedAdamW fa(*a, config_with("fused")), lb(*b, config_with("loop"));
  EXPECT_EQ(fa.impl(), AdamWImpl::fused);
  EXPECT_EQ(lb.impl(), AdamWImpl::loop);
  const double factors[] = {0.1, 1.0, 0.5, 0.25};
  for (int s = 0; s < 4; ++s) {
    set_grads(a, 100 + s);
    set_grads(b, 100 + s);
    fa.step(factors[s]);
    lb.step(factors[s]);
  }
  auto pa = a->parameters(), pb = b->parameters();
  double worst = 0;
  for (size_t i = 0; i < pa.size(); ++i) worst = std::max(worst, (pa[i] - pb[i]).abs().max().item<double>());
  EXPECT_LT(worst, 1e-6);
  EXPECT_DOUBLE_EQ(fa.group_lr(2), lb.group_lr(2));
}

TEST(Optimizer, FusedSkipsParametersWithoutAGradientAndDoesNotCountTheirSteps) {
  auto m = small();
  GroupedAdamW opt(*m, config_with("fused"));
  auto params = m->parameters();
  auto frozen_before = params[0].detach().clone(), other_before = params[1].detach().clone();
  for (size_t i = 1; i < params.size(); ++i) params[i].mutable_grad() = torch::ones_like(params[i]);
  opt.step(1.0);
  EXPECT_TRUE(torch::equal(params[0], frozen_before));
  EXPECT_FALSE(torch::equal(params[1], other_before));  // the others moved
  // now give it a gradient: its first update is a first-step update (bias corrections of step 1: |dp| = lr)
  opt.zero_grad();
  for (const auto& p : params) EXPECT_FALSE(p.grad().defined());
  params[0].mutable_grad() = torch::full_like(params[0], 0.5);
  opt.step(1.0);
  EXPECT_NEAR((frozen_before - params[0]).abs().max().item<double>(), 0.1, 1e-5);
}

TEST(Optimizer, SavedStateResumesBitIdentically) {
  skipbench::testing::TempDir dir;
  for (const std::string impl : {"fused", "loop"}) {
    SCOPED_TRACE(impl);
    auto a = small(), b = small();
    GroupedAdamW oa(*a, config_with(impl));
    for (int s = 0; s < 2; ++s) {
      set_grads(a, 7 + s);
      oa.step(1.0);
    }
    oa.save(dir.file(impl + ".pt"));
    {
      torch::NoGradGuard ng;
      auto pa = a->parameters(), pb = b->parameters();
      for (size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
    }
    GroupedAdamW ob(*b, config_with(impl));
    ob.load(dir.file(impl + ".pt"));
    set_grads(a, 42);
    set_grads(b, 42);
    oa.step(0.7);
    ob.step(0.7);
    auto pa = a->parameters(), pb = b->parameters();
    for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
  }
}

TEST(Optimizer, LoadingAnotherImplementationsStateIsAClearError) {
  skipbench::testing::TempDir dir;
  auto m = small();
  GroupedAdamW loop(*m, config_with("loop"));
  set_grads(m, 1);
  loop.step(1.0);
  loop.save(dir.file("loop.pt"));
  GroupedAdamW fused(*m, config_with("fused"));
  const auto err = skipbench::testing::error_of([&] { fused.load(dir.file("loop.pt")); });
  EXPECT_NE(err.find("loop.pt"), std::string::npos) << err;
  EXPECT_NE(err.find("optimizer"), std::string::npos) << err;
  EXPECT_NE(skipbench::testing::error_of([] { parse_adamw_impl("sgd"); }).find("train.optimizer.impl"),
            std::string::npos);
}

}  // namespace
}  // namespace skipbench
