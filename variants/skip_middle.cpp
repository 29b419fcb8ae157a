// skip_middle.cpp: see skip_middle.h. Registers the `skip_middle` variant.
#include "variants/skip_middle.h"

#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {

namespace {
// One step of the gate algebra, the only copy of it (the policy's forward and skip_middle_gates both use it):
// S_l = S_{l-1} + s_l (S_{-1} undefined: S_0 = s_0), g_l = 1 - clamp(S_l, 0, 1).
torch::Tensor accumulate(const torch::Tensor& S_prev, const torch::Tensor& s) { return S_prev.defined() ? S_prev + s : s; }
torch::Tensor gate_of(const torch::Tensor& S) { return 1.0 - S.clamp(0.0, 1.0); }
}  // namespace

std::vector<torch::Tensor> skip_middle_gates(const std::vector<torch::Tensor>& s, int64_t L) {
  require(L % 2 == 0 && static_cast<int64_t>(s.size()) == L / 2, "skip_middle_gates: need L/2 soft masks, L even");
  std::vector<torch::Tensor> g(L);
  torch::Tensor S;
  for (int64_t l = 0; l < L / 2; ++l) {
    S = accumulate(S, s[l]);
    g[l] = gate_of(S);
    g[L - 1 - l] = g[l];
  }
  return g;
}

SkipMiddleGates::SkipMiddleGates(int64_t dim, int64_t n_layers, AttentionGate ag, torch::ScalarType gate_dtype)
    : n_layers_(n_layers), attention_gate_(ag), gate_dtype_(gate_dtype) {
  masks = register_module("masks", torch::nn::ModuleList());
  for (int64_t l = 0; l < n_layers / 2; ++l) masks->push_back(torch::nn::Linear(torch::nn::LinearOptions(dim, 1)));
}

void SkipMiddleGates::begin(int64_t, int64_t) {
  first_half_.assign(n_layers_ / 2, torch::Tensor());
  running_ = torch::Tensor();
}

torch::Tensor SkipMiddleGates::gate(int64_t l, const torch::Tensor& h, ForwardOutput& out) {
  const int64_t half = n_layers_ / 2;
  if (l >= half) return first_half_[n_layers_ - 1 - l];  // mirror: the same tensor, so gradients flow from both uses
  // gate_dtype from here on (fp32 by default: under bf16 autocast the linear runs in bf16, but the accumulated
  // masks and the gates they make, compared with zero_eps and fed to ln g, are kept at full precision; bf16: as
  // the released code, where rounding makes more gates exactly 0)
  auto s = torch::relu(masks[l]->as<torch::nn::Linear>()->forward(h).to(gate_dtype_)).squeeze(-1);  // [B, T]
  running_ = accumulate(l == 0 ? torch::Tensor() : running_, s);
  auto g = gate_of(running_).to(torch::kFloat32);
  out.soft_masks.push_back(s.to(torch::kFloat32));
  out.accumulated.push_back(running_.to(torch::kFloat32));
  first_half_[l] = g;
  return g;
}

void SkipMiddleGates::zero_masks() {
  torch::NoGradGuard ng;
  for (auto& p : parameters()) p.zero_();
}

namespace {

void validate_skip_middle(const ModelConfig& cfg, const boost::json::object& o) {
  const double std = o.at("mask_init_std").to_number<double>();
  if (!(std >= 0 && std::isfinite(std)))
    throw Error("variant.options.mask_init_std: must be a finite number >= 0 (0: model.init_std, the paper's)");
  if (cfg.n_layers % 2 != 0)
    throw Error("model.n_layers: skip_middle needs an even number of layers (gates are mirrored about the middle), got " +
                std::to_string(cfg.n_layers));
}

Transformer build_skip_middle(const ModelConfig& cfg, const boost::json::object& o) {  // after validate (build_model)
  auto ag = parse_attention_gate(std::string(o.at("attention_gate").get_string()));
  const std::string gd(o.at("gate_dtype").get_string());
  auto policy = std::make_shared<SkipMiddleGates>(cfg.dim, cfg.n_layers, ag,
                                                  gd == "bf16" ? torch::kBFloat16 : torch::kFloat32);
  Transformer model(cfg, policy);  // init_weights(): mask weights N(0, init_std), biases 0
  const double std = o.at("mask_init_std").to_number<double>();
  if (std > 0) {  // another scale than the model's init_std, drawn after it (the paper's runs never set it)
    torch::NoGradGuard ng;
    for (auto& item : policy->named_parameters(true))
      if (item.key().find("weight") != std::string::npos) item.value().normal_(0.0, std);
  }
  if (o.at("zero_init_masks").get_bool()) policy->zero_masks();
  return model;
}

const RegisterVariant reg({
    "skip_middle",
    "learned per-token gates that skip the middle blocks symmetrically (Lawson & Aitchison 2025)",
    {
        {"zero_init_masks", OptionSpec::Kind::Bool, false,
         "zero the mask weights: ReLU(0) has no gradient, so every gate stays 1 (the released code's dense baselines)",
         {}},
        {"mask_init_std", OptionSpec::Kind::Number, 0.0,
         "std of the mask weights' normal init; 0: model.init_std (the paper's 0.02). A pretrained pre-LN model's "
         "residual stream is far from unit scale (SmolLM2: norms 45 to 990), where 0.02 closes every middle gate at "
         "step 1 (configs/smollm2-gates.json)",
         {}},
        {"attention_gate", OptionSpec::Kind::String, "key",
         "key: add ln(clamp(g_j,1e-6,1)) to every query's logit on key j (the paper); none: no term; reference: the "
         "released code's query-indexed term (a softmax no-op)",
         {"key", "none", "reference"}},
        {"gate_dtype", OptionSpec::Kind::String, "fp32",
         "precision of the soft masks, their sums and the gates: fp32 (the paper's algebra), or bf16 as the released "
         "code computes them under autocast (S >= ~0.998 rounds to 1: g = 0 exactly, so more tokens skip)",
         {"fp32", "bf16"}},
    },
    /*gated=*/true,
    build_skip_middle,
    validate_skip_middle,
});

}  // namespace
}  // namespace skipbench
