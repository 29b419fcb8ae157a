// target_controller.cpp: see target_controller.h.
#include "variants/controllers/target_controller.h"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/json_io.h"

namespace skipbench {
namespace json = boost::json;

namespace {
const std::string kWhere = "train.controller.options.";

}  // namespace

void Ema::update(const torch::Tensor& x) {
  value = value.defined() ? beta * value + (1.0 - beta) * x : x.clone();
}

std::vector<double> make_mean_targets(int64_t L, const json::object& o) {
  const size_t half = static_cast<size_t>(L / 2);
  std::vector<double> first;
  const auto& mt = o.at("mean_targets");
  if (mt.is_string() && mt.get_string() == "auto") {
    const auto& s = o.at("mean_target_start");
    const auto& e = o.at("mean_target_end");
    if (!s.is_number() || !e.is_number())
      throw Error(kWhere + "mean_target_start/mean_target_end: both are needed when mean_targets is \"auto\"");
    const double a = s.to_number<double>(), b = e.to_number<double>();
    for (size_t i = 0; i < half; ++i)
      first.push_back(half == 1 ? a : a + (b - a) * static_cast<double>(i) / static_cast<double>(half - 1));
  } else if (mt.is_array()) {
    for (const auto& x : mt.get_array()) {
      if (!x.is_number()) throw Error(kWhere + "mean_targets: expected numbers");
      first.push_back(x.to_number<double>());
    }
  } else if (mt.is_string()) {  // the released code also accepts "1 0.9 0.8 ..."
    std::istringstream in{std::string(mt.get_string())};
    double x;
    while (in >> x) first.push_back(x);
    if (!in.eof()) throw Error(kWhere + "mean_targets: expected \"auto\", a list, or space-separated numbers");
  } else {
    throw Error(kWhere + "mean_targets: expected \"auto\", a list, or space-separated numbers");
  }
  if (first.size() != half)
    throw Error(kWhere + "mean_targets: expected " + std::to_string(half) + " values (one per first-half layer), got " +
                std::to_string(first.size()));
  for (double x : first)
    if (!(x >= 0 && x <= 1)) throw Error(kWhere + "mean_targets: each target must be in [0, 1]");
  std::vector<double> all = first;
  all.insert(all.end(), first.rbegin(), first.rend());  // mirrored, as the gates are
  return all;
}

std::vector<double> make_var_targets(const std::vector<double>& mu, double delta) {
  std::vector<double> v;
  for (double m : mu) v.push_back(std::max(0.0, m * (1 - m) + delta));
  return v;
}

std::vector<OptionSpec> target_options(double mean_coef_init, double var_coef_init, bool adaptive) {
  using K = OptionSpec::Kind;
  std::vector<OptionSpec> o = {
      {"mean_targets", K::Json, "auto", "\"auto\" (linspace start..end over the first half, mirrored) or L/2 values", {}},
      {"mean_target_start", K::Number, nullptr, "first-layer gate-mean target (with \"auto\")", {}},
      {"mean_target_end", K::Number, nullptr, "middle-layer gate-mean target (with \"auto\")", {}},
      {"var_target_delta", K::Number, 0.0, "added to the Bernoulli variance targets mu*(1-mu*)", {}},
      {"mean_coef_init", K::Number, mean_coef_init, "initial coefficient of the gate-mean term, every layer", {}},
      {"var_coef_init", K::Number, var_coef_init, "initial coefficient of the gate-variance term, every layer", {}},
      {"ema_steps_short", K::Number, 1.0, "time-scale of the short EMA of the deltas (beta = 1 - 1/steps)", {}},
      {"ema_steps_long", K::Number, 10.0, "time-scale of the long EMA of the deltas", {}},
  };
  if (adaptive) {  // only controllers whose coefficients move have a clamp and a dead zone
    o.push_back({"coef_min", K::Number, nullptr, "lower clamp of the coefficients after every update (null: none)", {}});
    o.push_back({"coef_max", K::Number, nullptr, "upper clamp of the coefficients after every update (null: none)", {}});
    o.push_back({"delta_min", K::Number, 0.01, "dead zone: coefficients move only where |stat - target| > delta_min", {}});
  }
  return o;
}

TargetController::TargetController(int64_t L, const json::object& o, Loss loss, Rule rule, double step,
                                   double deriv_min)
    : loss_(loss),
      rule_(rule),
      step_(step),
      deriv_min_(deriv_min),
      delta_min_(o.contains("delta_min") ? o.at("delta_min").to_number<double>() : 0.0),
      coef_min_(o.contains("coef_min") ? number_or(o.at("coef_min"), -std::numeric_limits<double>::infinity())
                                       : -std::numeric_limits<double>::infinity()),
      coef_max_(o.contains("coef_max") ? number_or(o.at("coef_max"), std::numeric_limits<double>::infinity())
                                       : std::numeric_limits<double>::infinity()),
      mean_short_(o.at("ema_steps_short").to_number<double>()),
      mean_long_(o.at("ema_steps_long").to_number<double>()),
      var_short_(o.at("ema_steps_short").to_number<double>()),
      var_long_(o.at("ema_steps_long").to_number<double>()) {
  for (const char* k : {"ema_steps_short", "ema_steps_long"})
    if (!(o.at(k).to_number<double>() >= 1)) throw Error(kWhere + k + ": must be >= 1");
  if (coef_min_ > coef_max_) throw Error(kWhere + "coef_min: must not exceed coef_max");
  mean_targets_ = make_mean_targets(L, o);
  var_targets_ = make_var_targets(mean_targets_, o.at("var_target_delta").to_number<double>());
  mean_t_ = torch::tensor(mean_targets_, torch::kFloat64);
  var_t_ = torch::tensor(var_targets_, torch::kFloat64);
  mean_coefs_ = torch::full({L}, o.at("mean_coef_init").to_number<double>(), torch::kFloat64);
  var_coefs_ = torch::full({L}, o.at("var_coef_init").to_number<double>(), torch::kFloat64);
}

void TargetController::to_device(const torch::Device& d) {
  if (mean_coefs_.device() == d) return;
  for (auto* t : {&mean_t_, &var_t_, &mean_coefs_, &var_coefs_}) *t = t->to(d);
  for (auto* e : {&mean_short_, &mean_long_, &var_short_, &var_long_})
    if (e->initialised()) e->value = e->value.to(d);
}

torch::Tensor TargetController::loss(const std::vector<torch::Tensor>& gates) {
  if (gates.empty()) return torch::zeros({});
  to_device(gates[0].device());
  std::vector<torch::Tensor> means, vars;
  for (const auto& g : gates) {
    auto gf = g.to(torch::kFloat32);
    means.push_back(gf.mean());
    vars.push_back(gf.var());  // unbiased over the micro-batch's tokens, as torch.var((1, 2))
  }
  auto m = torch::stack(means), v = torch::stack(vars);
  auto f = [](const torch::Tensor& x) { return x.to(torch::kFloat32); };  // coefficients are constants here
  if (loss_ == Loss::linear) return (f(mean_coefs_) * m).mean() + (f(var_coefs_) * v).mean();
  return f(mean_coefs_).mean() * (m - f(mean_t_)).norm() + f(var_coefs_).mean() * (v - f(var_t_)).norm();
}

// The rule on whole vectors: moves where |delta| > delta_min (the dead zone), then the whole vector is clamped.
torch::Tensor TargetController::step_coefs(const torch::Tensor& c, const torch::Tensor& d, const Ema& shrt,
                                           const Ema& lng) const {
  torch::Tensor move;
  switch (rule_) {
    case Rule::none: return c;  // fixed coefficients: no dead zone, no clamp (the options are refused)
    case Rule::sign: move = step_ * torch::sign(d); break;
    case Rule::proportional: move = step_ * d; break;
    case Rule::proportional_derivative: {
      const auto deriv = shrt.value - lng.value;  // EMAs already include this step's delta
      move = torch::where(d * deriv > deriv_min_, step_ * d, torch::zeros_like(d));  // while the error grows
      break;
    }
  }
  // every coefficient, moved or not, is clamped, as the released code clamps the whole vector after each update
  // (a clamp range narrowed on resume, or an initial value outside it, is enforced at the first update)
  return torch::clamp(torch::where(d.abs() > delta_min_, c + move, c), coef_min_, coef_max_);
}

void TargetController::update(const GateStepStats& s) {
  to_device(s.mean.device());
  const auto dm = s.mean.to(torch::kFloat64) - mean_t_, dv = s.var.to(torch::kFloat64) - var_t_;
  mean_short_.update(dm);
  mean_long_.update(dm);
  var_short_.update(dv);
  var_long_.update(dv);
  mean_coefs_ = step_coefs(mean_coefs_, dm, mean_short_, mean_long_);
  var_coefs_ = step_coefs(var_coefs_, dv, var_short_, var_long_);
  ++updates_;
}

json::object TargetController::state() const {
  auto ema = [](const Ema& e) { return e.initialised() ? json::value(json_array(host_vector(e.value))) : json::value(nullptr); };
  return {{"updates", updates_},
          {"mean_targets", json_array(mean_targets_)},
          {"var_targets", json_array(var_targets_)},
          {"mean_coefs", json_array(host_vector(mean_coefs_))},
          {"var_coefs", json_array(host_vector(var_coefs_))},
          {"mean_deltas_short", ema(mean_short_)},
          {"mean_deltas_long", ema(mean_long_)},
          {"var_deltas_short", ema(var_short_)},
          {"var_deltas_long", ema(var_long_)}};
}

void TargetController::load_state(const JsonField& s) {
  const auto dev = mean_coefs_.device();
  const auto L = static_cast<size_t>(mean_coefs_.size(0));
  auto vec = [&](const JsonField& f) {
    auto v = f.doubles();
    if (v.size() != L) f.fail("expected " + std::to_string(L) + " values (one per block), got " + std::to_string(v.size()));
    return torch::tensor(v, torch::kFloat64).to(dev);
  };
  auto ema = [&](Ema& e, const char* k) { e.value = s[k].is_null() ? torch::Tensor() : vec(s[k]); };
  updates_ = s["updates"].integer(0);
  mean_coefs_ = vec(s["mean_coefs"]);
  var_coefs_ = vec(s["var_coefs"]);
  ema(mean_short_, "mean_deltas_short");
  ema(mean_long_, "mean_deltas_long");
  ema(var_short_, "var_deltas_short");
  ema(var_long_, "var_deltas_long");
}

}  // namespace skipbench
