// gate_stats.cpp: see gate_stats.h.
#include "harness/train/gate_stats.h"

#include <torch/torch.h>

#include <numeric>

namespace skipbench {

namespace {
boost::json::array arr(const std::vector<double>& v) {
  boost::json::array a;
  for (double x : v) a.push_back(x);
  return a;
}
std::vector<double> div(const std::vector<double>& v, double n) {
  std::vector<double> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = n > 0 ? v[i] / n : 0.0;
  return o;
}
std::vector<double> var_of(const std::vector<double>& s, const std::vector<double>& sq, double n) {
  std::vector<double> o(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const double m = s[i] / n;
    o[i] = std::max(0.0, sq[i] / n - m * m);
  }
  return o;
}
}  // namespace

void GateStatsAccumulator::add_moments(Moments& m, const std::vector<torch::Tensor>& xs) {
  if (m.sum.empty()) {
    m.sum.assign(xs.size(), 0.0);
    m.sumsq.assign(xs.size(), 0.0);
  }
  for (size_t l = 0; l < xs.size(); ++l) {
    auto x = xs[l].detach().to(torch::kFloat64);
    m.sum[l] += x.sum().item<double>();
    m.sumsq[l] += x.pow(2).sum().item<double>();
  }
}

void GateStatsAccumulator::add(const ForwardOutput& out) {
  torch::NoGradGuard ng;
  tokens_ += static_cast<double>(out.logits.size(0) * out.logits.size(1));
  if (!out.gates.empty()) {
    if (gate_sum_.empty()) {
      gate_sum_.assign(L_, 0.0);
      gate_sumsq_.assign(L_, 0.0);
      zeros_.assign(L_, 0.0);
    }
    // one host transfer for all layers: [L, 3] = (sum g, sum g^2, count |g| < eps)
    auto g = torch::stack(out.gates).detach().to(torch::kFloat64).flatten(1);
    auto s = torch::stack({g.sum(1), g.pow(2).sum(1), (g.abs() < eps_).to(torch::kFloat64).sum(1)}, 1).cpu();
    auto a = s.accessor<double, 2>();
    for (int64_t l = 0; l < L_; ++l) {
      gate_sum_[l] += a[l][0];
      gate_sumsq_[l] += a[l][1];
      zeros_[l] += a[l][2];
    }
    add_moments(soft_, out.soft_masks);
    add_moments(accum_, out.accumulated);
  }
  add_moments(resid_, out.residual_norms);
}

std::vector<double> GateStatsAccumulator::gate_mean() const {
  return gated() ? div(gate_sum_, tokens_) : std::vector<double>(L_, 1.0);
}
std::vector<double> GateStatsAccumulator::gate_var() const {
  return gated() ? var_of(gate_sum_, gate_sumsq_, tokens_) : std::vector<double>(L_, 0.0);
}
std::vector<double> GateStatsAccumulator::zero_fraction() const {
  return gated() ? div(zeros_, tokens_) : std::vector<double>(L_, 0.0);
}

boost::json::object GateStatsAccumulator::to_json() const {
  auto z = zero_fraction();
  boost::json::object o{{"tokens", tokens_},
                        {"gate_mean", arr(gate_mean())},
                        {"gate_var", arr(gate_var())},
                        {"zero_fraction", arr(z)},
                        {"sparsity", z.empty() ? 0.0 : std::accumulate(z.begin(), z.end(), 0.0) / double(z.size())},
                        {"residual_norm_mean", arr(div(resid_.sum, tokens_))}};
  if (gated()) {
    o["soft_mask_mean"] = arr(div(soft_.sum, tokens_));
    o["soft_mask_var"] = arr(var_of(soft_.sum, soft_.sumsq, tokens_));
    o["accumulated_mask_mean"] = arr(div(accum_.sum, tokens_));
    o["accumulated_mask_var"] = arr(var_of(accum_.sum, accum_.sumsq, tokens_));
  }
  return o;
}

}  // namespace skipbench
