// test_controllers.cpp: every gate controller's targets, loss and coefficient updates on hand-made statistics,
// the EMA, the dead zone, clamping, state round-trip, and a tiny run in which `proportional` meets its targets.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>

#include "harness/common/error.h"
#include "harness/registry/gate_controller.h"
#include "harness/common/json_io.h"
#include "harness/train/trainer.h"
#include "tests/test_util.h"
#include "variants/controllers/target_controller.h"

using namespace skipbench;
namespace json = boost::json;

namespace {
void expect_near(const std::vector<double>& a, const std::vector<double>& b, double tol = 1e-12) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}
json::object opts(json::object extra) {
  json::object o{{"mean_target_start", 1.0}, {"mean_target_end", 0.5}};
  for (auto& kv : extra) o[kv.key()] = kv.value();
  return o;
}
std::unique_ptr<GateController> make(const std::string& name, json::object o, int64_t L = 4) {
  return build_controller(L, {name, std::move(o)});
}
// L = 4, targets (1, .5, .5, 1), var targets (0, .25, .25, 0); these stats give mean deltas (-.1, .3, .005, 0)
// and variance deltas (0, -.05, 0, 0).
const GateStepStats kStats = GateStepStats::from_host({0.9, 0.8, 0.505, 1.0}, {0.0, 0.2, 0.25, 0.0});
}  // namespace

TEST(Targets, LinspaceOverTheFirstHalfMirrored) {
  json::object o{{"mean_targets", "auto"}, {"mean_target_start", 1.0}, {"mean_target_end", 0.5}};
  expect_near(make_mean_targets(4, o), {1, 0.5, 0.5, 1});
  expect_near(make_mean_targets(12, o), {1, .9, .8, .7, .6, .5, .5, .6, .7, .8, .9, 1}, 1e-12);
  expect_near(make_var_targets(make_mean_targets(12, o), 0.0), {0, .09, .16, .21, .24, .25, .25, .24, .21, .16, .09, 0},
              1e-12);
  expect_near(make_var_targets({0.5, 1.0}, -0.3), {0.0, 0.0});  // clamped at 0
  expect_near(make_var_targets({0.5}, 0.05), {0.3});
  o["mean_targets"] = json::array{0.9, 0.4};
  expect_near(make_mean_targets(4, o), {0.9, 0.4, 0.4, 0.9});
  o["mean_targets"] = "0.8 0.6";  // the released code's string form
  expect_near(make_mean_targets(4, o), {0.8, 0.6, 0.6, 0.8});
  o["mean_targets"] = json::array{0.9};
  EXPECT_THROW(make_mean_targets(4, o), Error);
  json::object missing{{"mean_targets", "auto"}, {"mean_target_start", 1.0}, {"mean_target_end", nullptr}};
  EXPECT_THROW(make_mean_targets(4, missing), Error);
}

TEST(Ema, FirstUpdateInitialisesThenBlends) {
  Ema e(10);  // beta 0.9
  e.update(torch::tensor(std::vector<double>{1.0, 2.0}, torch::kFloat64));
  expect_near(host_vector(e.value), {1.0, 2.0});
  e.update(torch::tensor(std::vector<double>{2.0, 0.0}, torch::kFloat64));
  expect_near(host_vector(e.value), {1.1, 1.8});
  Ema latest(1);  // beta 0: the latest value
  latest.update(torch::tensor(std::vector<double>{3.0}, torch::kFloat64));
  latest.update(torch::tensor(std::vector<double>{5.0}, torch::kFloat64));
  expect_near(host_vector(latest.value), {5.0});
}

TEST(Proportional, StepsByMultiplierTimesDeltaOutsideTheDeadZone) {
  auto c = make("proportional", opts({{"coef_update_multiplier", 0.1}}));
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {-0.01, 0.03, 0.0, 0.0});  // 0.005 is inside delta_min 0.01
  expect_near(json_doubles(c->state().at("var_coefs")), {0.0, -0.005, 0.0, 0.0});
  c->update(kStats);
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {-0.03, 0.09, 0.0, 0.0});
  EXPECT_EQ(c->state().at("updates").as_int64(), 3);
}

TEST(Adaptive, StepsBySignAndClamps) {
  auto c = make("adaptive", opts({{"coef_update", 0.01}, {"coef_max", 0.025}, {"coef_min", -0.015}}));
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {-0.01, 0.01, 0.0, 0.0});
  c->update(kStats);
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {-0.015, 0.025, 0.0, 0.0});  // clamped both ways
  auto wide = make("adaptive", opts({{"coef_update", 0.01}, {"delta_min", 0.0}}));
  wide->update(kStats);  // without the dead zone the 0.005 delta moves too; 0 has sign 0
  expect_near(json_doubles(wide->state().at("mean_coefs")), {-0.01, 0.01, 0.01, 0.0});
}

TEST(Adaptive, ClampsTheWholeVectorAsTheReleasedCodeDoes) {
  // Initial coefficients 0.05 lie outside [.., 0.02]. Layers 2 and 3 sit inside the dead zone (deltas .005, 0):
  // they do not move, yet the released code clamps the whole vector after every update, and so does this one.
  auto c = make("adaptive", opts({{"coef_update", 0.01}, {"coef_max", 0.02}, {"mean_coef_init", 0.05}}));
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {0.02, 0.02, 0.02, 0.02});
}

TEST(SparsityVarianceL2, RefusesTheOptionsOfMovingCoefficients) {
  // its coefficients never move, so a clamp or a dead zone would be silently ignored: they are refused instead
  for (const char* k : {"coef_min", "coef_max", "delta_min"}) {
    try {
      build_controller(4, {"sparsity_variance_l2", {{"mean_target_start", 1.0}, {"mean_target_end", 0.5}, {k, 0.1}}});
      ADD_FAILURE() << k << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(k), std::string::npos) << e.what();
    }
  }
  auto c = build_controller(4, {"sparsity_variance_l2", {{"mean_target_start", 1.0}, {"mean_target_end", 0.5}}});
  c->update(kStats);
  expect_near(json_doubles(c->state().at("mean_coefs")), {0.1, 0.1, 0.1, 0.1});  // fixed
}

TEST(ProportionalDerivative, UpdatesOnlyWhileTheErrorGrowsAwayFromTarget) {
  auto c = make("proportional_derivative", opts({{"coef_update_multiplier", 0.1}}));
  c->update(kStats);  // both EMAs start at the delta: derivative 0, no update
  expect_near(json_doubles(c->state().at("mean_coefs")), {0, 0, 0, 0});
  // deltas (-.2, .1, .005, 0): short EMA = delta; long = .9*old + .1*new = (-.11, .28, ...)
  // derivative (-.09, -.18): delta*deriv = (.018 > 0: update; -.018: none)
  c->update(GateStepStats::from_host({0.8, 0.6, 0.505, 1.0}, {0.0, 0.2, 0.25, 0.0}));
  expect_near(json_doubles(c->state().at("mean_coefs")), {-0.02, 0.0, 0.0, 0.0}, 1e-12);
  expect_near(json_doubles(c->state().at("mean_deltas_long")), {-0.11, 0.28, 0.005, 0.0}, 1e-12);
}

TEST(Controllers, LossesOnHandMadeGates) {
  // two layers of 4 tokens: means (0.5, 0.25), unbiased variances (1/3, 0.25)
  std::vector<torch::Tensor> g = {torch::tensor({{0.0, 1.0}, {0.0, 1.0}}), torch::tensor({{0.0, 0.0}, {0.0, 1.0}})};
  auto sv = build_controller(2, {"sparsity_variance", {{"mean_coef", 0.2}, {"var_coef", -0.1}}});
  EXPECT_NEAR(sv->loss(g).item<double>(), (0.2 * 0.5 + 0.2 * 0.25) / 2 + (-0.1 / 3 - 0.1 * 0.25) / 2, 1e-6);
  // l2: targets (0.8, 0.8) for L=2 -> deltas (-.3, -.55); var targets .16 -> deltas (1/3-.16, .25-.16)
  auto l2 = build_controller(2, {"sparsity_variance_l2", {{"mean_targets", json::array{0.8}}}});
  const double dm = std::sqrt(0.3 * 0.3 + 0.55 * 0.55), dv = std::sqrt(std::pow(1.0 / 3 - 0.16, 2) + 0.09 * 0.09);
  EXPECT_NEAR(l2->loss(g).item<double>(), 0.1 * dm + 0.1 * dv, 1e-6);
  auto p = build_controller(2, {"proportional", {{"mean_targets", json::array{0.8}}, {"mean_coef_init", 0.5},
                                                 {"var_coef_init", 0.3}}});
  EXPECT_NEAR(p->loss(g).item<double>(), 0.5 * 0.375 + 0.3 * (1.0 / 3 + 0.25) / 2, 1e-6);
  // gradients reach the gates
  auto gg = g[0].clone().requires_grad_(true);
  p->loss({gg, g[1]}).backward();
  EXPECT_GT(gg.grad().abs().sum().item<double>(), 0.0);
}

TEST(Controllers, StateRoundTripContinuesIdentically) {
  for (const char* name : {"adaptive", "proportional", "proportional_derivative", "sparsity_variance_l2"}) {
    auto a = make(name, opts({}));
    a->update(kStats);
    a->update(GateStepStats::from_host({0.7, 0.9, 0.6, 0.95}, {0.1, 0.1, 0.1, 0.1}));
    auto b = make(name, opts({}));
    const json::value saved = a->state();
    b->load_state(JsonField(saved, "state.json"));
    EXPECT_EQ(json::serialize(a->state()), json::serialize(b->state())) << name;
    a->update(kStats);
    b->update(kStats);
    EXPECT_EQ(json::serialize(a->state()), json::serialize(b->state())) << name;
  }
}

// A damaged controller state names the file, the member and what is wrong, and leaves no half-loaded controller
// behind silently: a vector of another length (another depth) and a mistyped counter are refused.
TEST(Controllers, DamagedStateIsRefusedNamingTheMember) {
  auto a = make("proportional", opts({}));
  a->update(kStats);
  auto expect_error = [&](json::object s, const std::string& want) {
    const json::value v = s;
    try {
      make("proportional", opts({}))->load_state(JsonField(v, "ck/state.json"));
      ADD_FAILURE() << "accepted: " << json::serialize(v);
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), want);
    }
  };
  auto s = a->state();
  s["mean_coefs"] = json::array{0.1, 0.2};
  expect_error(s, "ck/state.json: mean_coefs: expected 4 values (one per block), got 2");
  s = a->state();
  s["updates"] = "x";
  expect_error(s, "ck/state.json: updates: expected an integer, got a string (\"x\")");
  s = a->state();
  s.erase("var_coefs");
  expect_error(s, "ck/state.json: var_coefs: missing");
  s = a->state();
  s["mean_coefs"] = json::array{0.1, "a", 0.3, 0.4};
  expect_error(s, "ck/state.json: mean_coefs[1]: expected a number or null, got a string (\"a\")");
}

TEST(Controllers, AllSevenAreRegisteredAndRefuseBadOptions) {
  std::vector<std::string> names;
  for (const auto* s : ControllerRegistry::instance().all()) names.push_back(s->name);
  for (const char* n : {"none", "sparsity", "sparsity_variance", "sparsity_variance_l2", "adaptive", "proportional",
                        "proportional_derivative"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_THROW(make("proportional", {}), Error);  // "auto" targets need start and end
  EXPECT_THROW(make("proportional", opts({{"coef_update", 0.1}})), Error);  // adaptive's option, not this one's
  EXPECT_THROW(make("adaptive", opts({{"ema_steps_long", 0.5}})), Error);
  EXPECT_THROW(make("proportional", opts({{"mean_target_end", 1.5}})), Error);
}

TEST(Controllers, ProportionalBringsGateMeansToTargetsInATinyRun) {
  skipbench::testing::TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 120);
  cfg.train.val_every = 0;
  cfg.train.masks_group.lr = 3e-2;
  cfg.train.controller = {"proportional",
                          {{"mean_target_start", 0.9}, {"mean_target_end", 0.5}, {"coef_update_multiplier", 0.5}}};
  auto r = train(cfg, "");
  ASSERT_EQ(r.status, "completed");
  auto means = json_doubles(r.report.at("gates").at("val").at("gate_mean"));
  const std::vector<double> targets = {0.9, 0.5, 0.5, 0.9};
  for (size_t l = 0; l < 4; ++l) EXPECT_NEAR(means[l], targets[l], 0.1) << "layer " << l;
}
