// residual_gates.cpp: the `residual_gates` variant, GateSkip ("What Layers When: Learning to Skip Compute in LLMs
// with Residual Gates", Laitenberger et al. 2025, arXiv 2510.13876) on the shared backbone. Every attention and
// FFN branch of every block gets a sigmoid-linear gate on its output as it re-enters the residual:
//   h = x + m_attn * [PostNorm](Attn(PreNorm(x))),  out = h + m_ffn * [PostNorm](FFN(PreNorm(h))),
//   m = sigmoid(W r + b), r the residual entering the branch; W: dim -> dim ("vector", the paper's per-channel
//   gate) or dim -> 1 ("scalar"). A token's importance score at a branch is the mean of its gate vector.
// Training: soft gates everywhere (every branch computes) and an L2 sparsity penalty, sparsity_weight x the mean
// over branches of mean(m^2), joins the objective. Evaluation (validation, `eval`, real skipping) applies a skip
// rule per branch: "threshold" (a token skips a branch whose score is below `threshold`: decided per token, so
// causal), "budget" (each sequence's round(budget x T) highest-scoring tokens compute the branch: the paper's
// per-layer token budget, which ranks the whole sequence and so is not causal), or "none". A skipped branch's
// multiplier is 0: the soft path adds nothing, and the packed path (skip_compute, forward_hard_skip) does not
// compute it; the skipped token's keys and values stay visible to the others, as they are in training. The
// trainer validates with the rule and with every branch computed (GatePolicy::full_compute).
// The gate reads the residual entering the branch (not the branch's output) so that the decision exists before the
// branch would run: the published description ("condenses the branch's output") is read that way, since skipping
// needs the gate first. FLOPs: the gate linears are this variant's policy FLOPs (counted in training and in the
// inference estimate); skipped branches reach the estimator through GateStatsAccumulator as block sparsity.
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "harness/common/error.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {
namespace {

enum class Rule { none, threshold, budget };

class ResidualGates : public GatePolicy {
 public:
  ResidualGates(const ModelConfig& cfg, bool vector, double weight, Rule rule, double threshold, double budget)
      : L_(cfg.n_layers), weight_(weight), rule_(rule), threshold_(threshold), budget_(budget) {
    gates_ = register_module("branches", torch::nn::ModuleList());
    for (int64_t i = 0; i < 2 * cfg.n_layers; ++i) gates_->push_back(torch::nn::Linear(cfg.dim, vector ? cfg.dim : 1));
  }
  bool has_branch_gates() const override { return true; }
  bool has_skip_rule() const override { return rule_ != Rule::none; }
  torch::Tensor gate(int64_t, const torch::Tensor&, ForwardOutput&) override { return {}; }

  torch::Tensor branch_gate(int64_t layer, int branch, const torch::Tensor& r, ForwardOutput& out) override {
    auto lin = gates_[2 * layer + branch]->as<torch::nn::Linear>();
    auto m = torch::sigmoid(lin->forward(r).to(torch::kFloat32));  // [B, T, G]
    auto score = m.mean(-1);                                        // [B, T]
    out.branch_scores.push_back(score.detach());
    if (is_training()) {
      if (weight_ > 0) out.aux_losses.push_back((weight_ / static_cast<double>(2 * L_)) * m.pow(2).mean());
      return m;
    }
    if (rule_ == Rule::none || full_compute) return m;
    torch::Tensor keep;
    if (rule_ == Rule::threshold) {
      keep = score.detach() >= threshold_;
    } else {
      const int64_t T = score.size(1);
      const int64_t k = std::clamp<int64_t>(std::llround(budget_ * static_cast<double>(T)), 0, T);
      keep = torch::zeros_like(score, torch::kBool);
      if (k > 0) keep.scatter_(1, std::get<1>(score.detach().topk(k, /*dim=*/1)), true);
    }
    out.branch_computed.push_back(keep.to(torch::kFloat32));
    return m * keep.unsqueeze(-1).to(m.scalar_type());
  }

  // Opens every gate to sigmoid(bias) at initialisation (the model's init_weights zeroes linear biases).
  void set_bias(double b) {
    torch::NoGradGuard ng;
    for (auto& g : *gates_) g->as<torch::nn::Linear>()->bias.fill_(b);
  }

 private:
  int64_t L_;
  double weight_;
  Rule rule_;
  double threshold_, budget_;
  torch::nn::ModuleList gates_{nullptr};  // 2 per block: attention, FFN
};

Rule parse_rule(const std::string& s) {
  if (s == "none") return Rule::none;
  if (s == "threshold") return Rule::threshold;
  return Rule::budget;  // the option's choices are checked by the registry
}

void validate(const ModelConfig&, const boost::json::object& o) {
  auto in_unit = [&](const char* key) {
    const double v = o.at(key).to_number<double>();
    if (!(v >= 0 && v <= 1)) throw Error(std::string("variant.options.") + key + ": must be in [0, 1], got " + std::to_string(v));
  };
  in_unit("threshold");
  in_unit("budget");
  const double w = o.at("sparsity_weight").to_number<double>();
  if (!(w >= 0 && std::isfinite(w))) throw Error("variant.options.sparsity_weight: must be a finite number >= 0");
  if (!std::isfinite(o.at("bias_init").to_number<double>()))
    throw Error("variant.options.bias_init: must be a finite number");
}

Transformer build(const ModelConfig& cfg, const boost::json::object& o) {
  auto policy = std::make_shared<ResidualGates>(cfg, o.at("gate").get_string() == "vector",
                                                o.at("sparsity_weight").to_number<double>(),
                                                parse_rule(std::string(o.at("rule").get_string())),
                                                o.at("threshold").to_number<double>(), o.at("budget").to_number<double>());
  Transformer m(cfg, policy);
  policy->set_bias(o.at("bias_init").to_number<double>());
  return m;
}

// Per block, two gate linears on every token: dim -> dim (vector) or dim -> 1, 2 FLOPs per multiply-add.
double policy_flops(const ModelConfig& cfg, const boost::json::object& o) {
  const double d = static_cast<double>(cfg.dim), g = o.at("gate").get_string() == "vector" ? d : 1.0;
  return static_cast<double>(cfg.n_layers) * 2.0 * 2.0 * d * g;
}

const RegisterVariant reg({
    "residual_gates",
    "GateSkip: a sigmoid-linear gate on every attention and FFN residual branch with an L2 sparsity penalty; at "
    "evaluation a branch is skipped for tokens whose gate score is below a threshold or outside a per-layer budget",
    {
        {"gate", OptionSpec::Kind::String, "vector", "the gate: dim -> dim per channel (the paper) or dim -> 1",
         {"vector", "scalar"}},
        {"sparsity_weight", OptionSpec::Kind::Number, 0.01,
         "weight of the L2 penalty on the gates (mean over branches of mean(m^2)) in the objective", {}},
        {"bias_init", OptionSpec::Kind::Number, 2.0, "initial gate bias: gates start at about sigmoid(bias_init)", {}},
        {"rule", OptionSpec::Kind::String, "threshold",
         "evaluation skip rule per branch: score below threshold (causal), outside a per-sequence token budget "
         "(not causal), or none",
         {"threshold", "budget", "none"}},
        {"threshold", OptionSpec::Kind::Number, 0.5, "rule threshold: a token skips a branch whose mean gate is below", {}},
        {"budget", OptionSpec::Kind::Number, 0.75, "rule budget: the fraction of each sequence's tokens a branch computes", {}},
    },
    /*gated=*/false,
    build,
    validate,
    policy_flops,
});

}  // namespace
}  // namespace skipbench
