// gate_stats.cpp: see gate_stats.h.
#include "harness/train/gate_stats.h"

#include <torch/torch.h>

#include <numeric>

#include "harness/common/json_io.h"

namespace skipbench {

namespace {
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

void GateStatsAccumulator::add_moments(torch::Tensor& acc, const std::vector<torch::Tensor>& xs) {
  if (xs.empty()) return;
  auto x = torch::stack(xs).detach().to(torch::kFloat64).flatten(1);  // [n, tokens]
  auto m = torch::stack({x.sum(1), x.pow(2).sum(1)});                  // [2, n]
  if (acc.defined()) acc.add_(m); else acc = m;
}

void GateStatsAccumulator::add(const ForwardOutput& out) {
  torch::NoGradGuard ng;
  tokens_ += static_cast<double>(out.logits.size(0) * out.logits.size(1));
  dirty_ = true;
  if (!out.gates.empty()) {
    auto g = torch::stack(out.gates).detach().to(torch::kFloat64).flatten(1);  // [L, tokens]
    auto s = torch::stack({g.sum(1), g.pow(2).sum(1), (g.abs() < eps_).to(torch::kFloat64).sum(1)});
    if (gate_acc_.defined()) gate_acc_.add_(s); else gate_acc_ = s;
    add_moments(soft_acc_, out.soft_masks);
    add_moments(accum_acc_, out.accumulated);
  }
  add_moments(resid_acc_, out.residual_norms);
  if (!out.branch_scores.empty()) {
    auto sc = torch::stack(out.branch_scores).detach().to(torch::kFloat64).flatten(1);  // [2L, tokens]
    auto skipped = out.branch_computed.empty()
                       ? torch::zeros({sc.size(0)}, sc.options())
                       : (1.0 - torch::stack(out.branch_computed).detach().to(torch::kFloat64).flatten(1)).sum(1);
    auto s = torch::stack({sc.sum(1), sc.pow(2).sum(1), skipped});
    if (branch_acc_.defined()) branch_acc_.add_(s); else branch_acc_ = s;
    branch_saving_ = out.branch_saving;
  }
}

void GateStatsAccumulator::all_reduce(const std::function<void(torch::Tensor&)>& sum) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor*> accs;
  for (auto* t : {&gate_acc_, &soft_acc_, &accum_acc_, &resid_acc_, &branch_acc_})
    if (t->defined()) accs.push_back(t);
  std::vector<torch::Tensor> parts;
  for (auto* t : accs) parts.push_back(t->flatten());
  const auto opts = accs.empty() ? torch::TensorOptions().dtype(torch::kFloat64) : accs[0]->options();
  parts.push_back(torch::full({1}, tokens_, opts));
  auto flat = torch::cat(parts);
  sum(flat);
  int64_t at = 0;
  for (auto* t : accs) {
    t->copy_(flat.slice(0, at, at + t->numel()).view_as(*t));
    at += t->numel();
  }
  tokens_ = flat[at].item<double>();
  dirty_ = true;
}

void GateStatsAccumulator::sync() const {
  if (!dirty_) return;
  dirty_ = false;
  std::vector<torch::Tensor> parts;
  for (const auto* t : {&gate_acc_, &soft_acc_, &accum_acc_, &resid_acc_, &branch_acc_})
    if (t->defined()) parts.push_back(t->flatten());
  if (parts.empty()) return;
  auto host = torch::cat(parts).cpu().contiguous();  // the one device -> host copy
  const double* p = host.data_ptr<double>();
  auto take = [&p](const torch::Tensor& acc, std::vector<double>* rows[], int nrows) {
    if (!acc.defined()) return;
    const auto n = acc.size(1);
    for (int r = 0; r < nrows; ++r) {
      rows[r]->assign(p, p + n);
      p += n;
    }
  };
  std::vector<double>* g[] = {&gate_sum_, &gate_sumsq_, &zeros_};
  std::vector<double>* so[] = {&soft_.sum, &soft_.sumsq};
  std::vector<double>* ac[] = {&accum_.sum, &accum_.sumsq};
  std::vector<double>* re[] = {&resid_.sum, &resid_.sumsq};
  take(gate_acc_, g, 3);
  take(soft_acc_, so, 2);
  take(accum_acc_, ac, 2);
  take(resid_acc_, re, 2);
  std::vector<double>* br[] = {&branch_.sum, &branch_.sumsq, &branch_skips_};
  take(branch_acc_, br, 3);
}

std::pair<torch::Tensor, torch::Tensor> GateStatsAccumulator::gate_mean_var_device() const {
  auto m = gate_acc_[0] / tokens_;
  return {m, torch::clamp_min(gate_acc_[1] / tokens_ - m * m, 0.0)};
}

std::vector<double> GateStatsAccumulator::gate_mean() const {
  sync();
  return gated() ? div(gate_sum_, tokens_) : std::vector<double>(L_, 1.0);
}
std::vector<double> GateStatsAccumulator::gate_var() const {
  sync();
  return gated() ? var_of(gate_sum_, gate_sumsq_, tokens_) : std::vector<double>(L_, 0.0);
}
std::vector<double> GateStatsAccumulator::branch_skipped() const {
  sync();
  return branch_gated() ? div(branch_skips_, tokens_) : std::vector<double>(2 * L_, 0.0);
}
std::vector<double> GateStatsAccumulator::zero_fraction() const {
  sync();
  if (branch_gated()) {  // skipped branches as the block sparsity they are worth (flops.h branch_skip_shares)
    const auto b = branch_skipped();
    std::vector<double> z(L_, 0.0);
    for (int64_t l = 0; l < L_ && 2 * l + 1 < static_cast<int64_t>(b.size()); ++l)
      z[l] = branch_saving_.first * b[2 * l] + branch_saving_.second * b[2 * l + 1];
    return z;
  }
  return gated() ? div(zeros_, tokens_) : std::vector<double>(L_, 0.0);
}

boost::json::object GateStatsAccumulator::to_json() const {
  sync();
  auto z = zero_fraction();
  boost::json::object o{{"tokens", tokens_},
                        {"gate_mean", json_array(gate_mean())},
                        {"gate_var", json_array(gate_var())},
                        {"zero_fraction", json_array(z)},
                        {"sparsity", z.empty() ? 0.0 : std::accumulate(z.begin(), z.end(), 0.0) / double(z.size())}};
  if (resid_acc_.defined()) o["residual_norm_mean"] = json_array(div(resid_.sum, tokens_));  // when recorded
  if (branch_gated()) {
    const auto skipped = branch_skipped();
    const auto mean = div(branch_.sum, tokens_), var = var_of(branch_.sum, branch_.sumsq, tokens_);
    auto pick = [](const std::vector<double>& v, int which) {
      std::vector<double> o;
      for (size_t i = which; i < v.size(); i += 2) o.push_back(v[i]);
      return json_array(o);
    };
    for (int which : {0, 1}) {
      const char* name = which == 0 ? "attention" : "ffn";
      o[std::string("branch_") + name + "_score_mean"] = pick(mean, which);
      o[std::string("branch_") + name + "_score_var"] = pick(var, which);
      o[std::string("branch_") + name + "_skipped"] = pick(skipped, which);
    }
    o["zero_fraction_basis"] = "branches: attention share x skipped + FFN share x skipped, per block";
  }
  if (gated()) {
    o["soft_mask_mean"] = json_array(div(soft_.sum, tokens_));
    o["soft_mask_var"] = json_array(var_of(soft_.sum, soft_.sumsq, tokens_));
    o["accumulated_mask_mean"] = json_array(div(accum_.sum, tokens_));
    o["accumulated_mask_var"] = json_array(var_of(accum_.sum, accum_.sumsq, tokens_));
  }
  return o;
}

}  // namespace skipbench
