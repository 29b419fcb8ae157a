// mod.cpp: the `mod` variant, Mixture-of-Depths (Raposo et al. 2024, arXiv 2404.02258) on the shared backbone.
// On the routed blocks (every `every`-th block starting at `first`: blocks 1, 3, 5, ... by default) a linear router
// r = w . h + b scores each token of the residual h entering the block; expert-choice top-k takes the
// k = round(capacity x T) highest-scoring tokens of each sequence through the block and the rest ride the residual:
//   h_out = h + r * (block(h) - h)   for the k chosen tokens (the paper's x + r f(x)),   h_out = h   otherwise.
// The chosen tokens attend only to each other, at their original positions (key gating, exact in the packed path);
// the model always runs the packed path (skip_compute), so training computes only the chosen tokens: the shapes
// are static (k per sequence), the saving real. `router` "sigmoid" scales by sigmoid(r) instead of r.
// Top-k over a sequence is not causal (a token's fate depends on later tokens' scores). So each routed block also
// trains the paper's causal predictor: a small MLP on the stop-gradient residual, trained with binary
// cross-entropy to predict membership of the top-k (its loss joins the objective, `predictor_weight`); with
// GatePolicy::causal set (validation reports both; `eval --causal`), a token goes through when the predictor says
// so (p > 0.5): variable counts per sequence, still packed. The router weight scales the output either way.
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "harness/common/error.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {
namespace {

class MoDRouters : public GatePolicy {
 public:
  MoDRouters(const ModelConfig& cfg, double capacity, int64_t every, int64_t first, bool sigmoid, double pred_w)
      : capacity_(capacity), every_(every), first_(first), sigmoid_(sigmoid), pred_w_(pred_w) {
    routers_ = register_module("routers", torch::nn::ModuleList());
    predictors_ = register_module("predictors", torch::nn::ModuleList());
    const int64_t hidden = std::max<int64_t>(8, cfg.dim / 8);
    for (int64_t l = 0; l < cfg.n_layers; ++l) {
      if (!routed(l)) continue;
      slot_.resize(cfg.n_layers, -1);
      slot_[l] = static_cast<int64_t>(routers_->size());
      routers_->push_back(torch::nn::Linear(cfg.dim, 1));
      predictors_->push_back(torch::nn::Sequential(torch::nn::Linear(cfg.dim, hidden), torch::nn::SiLU(),
                                                   torch::nn::Linear(hidden, 1)));
    }
    slot_.resize(cfg.n_layers, -1);
  }
  bool routed(int64_t l) const { return l >= first_ && (l - first_) % every_ == 0; }
  int64_t k_of(int64_t T) const {
    return std::clamp<int64_t>(static_cast<int64_t>(std::llround(capacity_ * static_cast<double>(T))), 1, T);
  }
  void begin(int64_t, int64_t) override { scale_ = torch::Tensor(); }
  torch::Tensor gate(int64_t l, const torch::Tensor& h, ForwardOutput& out) override {
    scale_ = torch::Tensor();
    // an unrouted block computes every token; its gate of ones keeps the per-block gate metrics (and the FLOPs
    // estimate from them) aligned with the blocks
    if (slot_[l] < 0) return torch::ones({h.size(0), h.size(1)}, h.options().dtype(torch::kFloat32));
    auto router = routers_[slot_[l]]->as<torch::nn::Linear>();
    auto r = router->forward(h).squeeze(-1).to(torch::kFloat32);  // [B, T]
    auto logit = predictors_[slot_[l]]->as<torch::nn::Sequential>()->forward(h.detach()).squeeze(-1).to(torch::kFloat32);
    torch::Tensor chosen;
    if (causal) {
      chosen = (logit > 0).to(torch::kFloat32);  // sigmoid(logit) > 0.5
    } else {
      const auto idx = std::get<1>(r.detach().topk(k_of(h.size(1)), /*dim=*/1));
      chosen = torch::zeros_like(r).scatter_(1, idx, 1.0);
    }
    if (is_training() && !causal && pred_w_ > 0)
      out.aux_losses.push_back(pred_w_ * torch::binary_cross_entropy_with_logits(logit, chosen));
    scale_ = sigmoid_ ? torch::sigmoid(r) : r;
    return chosen;
  }
  torch::Tensor output_scale(int64_t l) override { return slot_[l] < 0 ? torch::Tensor() : scale_; }
  AttentionGate attention_gate() const override { return AttentionGate::key; }
  bool has_causal_mode() const override { return true; }

 private:
  double capacity_;
  int64_t every_, first_;
  bool sigmoid_;
  double pred_w_;
  std::vector<int64_t> slot_;  // block -> index into routers_/predictors_, -1 when not routed
  torch::nn::ModuleList routers_{nullptr}, predictors_{nullptr};
  torch::Tensor scale_;  // the latest routed block's output scale
};

void validate(const ModelConfig& cfg, const boost::json::object& o) {
  const double c = o.at("capacity").to_number<double>();
  if (!(c > 0 && c <= 1)) throw Error("variant.options.capacity: must be in (0, 1], got " + std::to_string(c));
  const int64_t every = o.at("every").to_number<int64_t>(), first = o.at("first").to_number<int64_t>();
  if (every < 1) throw Error("variant.options.every: must be >= 1 (1: every block routed)");
  if (first < 0 || first >= cfg.n_layers)
    throw Error("variant.options.first: must be in [0, " + std::to_string(cfg.n_layers - 1) + "] for " +
                std::to_string(cfg.n_layers) + " blocks, got " + std::to_string(first));
  const double w = o.at("predictor_weight").to_number<double>();
  if (!(w >= 0 && std::isfinite(w))) throw Error("variant.options.predictor_weight: must be a finite number >= 0");
}

Transformer build(const ModelConfig& cfg, const boost::json::object& o) {
  Transformer m(cfg, std::make_shared<MoDRouters>(cfg, o.at("capacity").to_number<double>(),
                                                  o.at("every").to_number<int64_t>(), o.at("first").to_number<int64_t>(),
                                                  o.at("router").get_string() == "sigmoid",
                                                  o.at("predictor_weight").to_number<double>()));
  m->skip_compute = true;  // the chosen tokens only, in training too
  return m;
}

// Per routed block a dim -> 1 router and the dim -> hidden -> 1 predictor MLP, 2 FLOPs per multiply-add.
double policy_flops(const ModelConfig& cfg, const boost::json::object& o) {
  const int64_t every = o.at("every").to_number<int64_t>(), first = o.at("first").to_number<int64_t>();
  int64_t routed = 0;
  for (int64_t l = first; l < cfg.n_layers; l += every) ++routed;
  const double d = static_cast<double>(cfg.dim), h = static_cast<double>(std::max<int64_t>(8, cfg.dim / 8));
  return static_cast<double>(routed) * 2.0 * (d + d * h + h);
}

const RegisterVariant reg({
    "mod",
    "Mixture-of-Depths: expert-choice top-k routing of capacity x T tokens per sequence on every other block, "
    "output scaled by the router weight; causal predictor trained beside it",
    {
        {"capacity", OptionSpec::Kind::Number, 0.125, "fraction of each sequence's tokens a routed block computes", {}},
        {"every", OptionSpec::Kind::Int, 2, "route every k-th block", {}},
        {"first", OptionSpec::Kind::Int, 1, "the first routed block (0-based)", {}},
        {"router", OptionSpec::Kind::String, "linear", "the output scale: the router weight r (the paper) or sigmoid(r)",
         {"linear", "sigmoid"}},
        {"predictor_weight", OptionSpec::Kind::Number, 1.0,
         "weight of the causal predictor's BCE loss in the objective (0: not trained)", {}},
    },
    /*gated=*/false,
    build,
    validate,
    policy_flops,
});

}  // namespace
}  // namespace skipbench
