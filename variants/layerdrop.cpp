// layerdrop.cpp: the `layerdrop` variant, LayerDrop (Fan et al. 2019) with LayerSkip's rising per-layer rate and
// early-exit loss (Elhoushi et al. 2024), on the shared backbone.
//   Training: block l of sequence b is dropped (gate 0: its residual passes through unchanged) with probability
//     p_l = p_max * S(l):  exponential (LayerSkip) S(l) = 2^(l/(L-1)) - 1, linear S(l) = l/(L-1), uniform S = 1;
//     one draw per (sequence, block), so a dropped sequence skips the whole block. With train.skip_compute the
//     dropped rows are really not computed (the packed path), else the block's output is multiplied by 0.
//   Early-exit loss: logits after the blocks at exit_stride, exit_stride*2, ... (and the last block) through the
//     model's own output norm and head; objective sum_l e~_l CE_l with LayerSkip's weights
//     e_l = exit_scale * (0 + 1 + ... + l) for l < L-1, e_{L-1} = L-1, normalised to sum 1 (exit_scale 0: the plain
//     final loss). The recorded train loss stays the final layer's CE, comparable with every other variant.
//   Evaluation: every block runs (no dropping); `skipbench eval --exits` measures loss and time at every depth.
// Draws come from a hash of (seed, GatePolicy::draw, block, sequence): reproducible and exact on resume.
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "harness/common/error.h"
#include "harness/common/hash.h"
#include "harness/registry/variant_registry.h"
#include "variants/layerdrop.h"

namespace skipbench {

// p_l for l = 0..L-1 (exposed for tests through layerdrop_rates below).
std::vector<double> layerdrop_rates(int64_t L, double p_max, const std::string& schedule) {
  std::vector<double> p(L, 0.0);
  for (int64_t l = 0; l < L; ++l) {
    const double x = L > 1 ? static_cast<double>(l) / static_cast<double>(L - 1) : 1.0;
    const double s = schedule == "uniform" ? 1.0 : schedule == "linear" ? x : std::exp2(x) - 1.0;
    p[l] = p_max * s;
  }
  return p;
}

// LayerSkip's early-exit weights over the exit layers (ascending, each < L-1) and the final layer (last value).
std::vector<double> layerskip_exit_weights(int64_t L, const std::vector<int64_t>& exits, double exit_scale) {
  std::vector<double> w;
  for (int64_t l : exits) w.push_back(exit_scale * static_cast<double>(l * (l + 1) / 2));
  w.push_back(static_cast<double>(L - 1 > 0 ? L - 1 : 1));
  double sum = 0;
  for (double x : w) sum += x;
  for (double& x : w) x /= sum;
  return w;
}

namespace {

class LayerDropGates : public GatePolicy {
 public:
  LayerDropGates(std::vector<double> rates, uint64_t seed) : p_(std::move(rates)), seed_(seed) {}
  void begin(int64_t B, int64_t T) override { B_ = B, T_ = T; }
  torch::Tensor gate(int64_t l, const torch::Tensor& h, ForwardOutput&) override {
    if (!is_training()) return {};  // evaluation: the whole model
    std::vector<float> keep(B_);
    for (int64_t b = 0; b < B_; ++b) {
      const uint64_t key = splitmix64(seed_ * 0x9E3779B97F4A7C15ULL ^ splitmix64(static_cast<uint64_t>(draw) * 1000003ULL +
                                                                                 static_cast<uint64_t>(l) * 7919ULL +
                                                                                 static_cast<uint64_t>(b)));
      const double u = static_cast<double>(key >> 11) * 0x1.0p-53;
      keep[b] = u < p_[l] ? 0.0f : 1.0f;
    }
    return torch::tensor(keep).to(h.device(), /*non_blocking=*/true).view({B_, 1}).expand({B_, T_});
  }
  // A dropped sequence drops the block for all its tokens, so masking its keys changes nothing for the kept
  // sequences, and lets the packed path skip the dropped rows' keys and values too.
  AttentionGate attention_gate() const override { return AttentionGate::key; }

 private:
  std::vector<double> p_;
  uint64_t seed_;
  int64_t B_ = 0, T_ = 0;
};

const char* const kSchedules[] = {"exponential", "linear", "uniform"};

void validate(const ModelConfig& cfg, const boost::json::object& o) {
  const double p = o.at("p_max").to_number<double>();
  if (!(p >= 0 && p <= 1)) throw Error("variant.options.p_max: must be in [0, 1], got " + std::to_string(p));
  const double e = o.at("exit_scale").to_number<double>();
  if (!(e >= 0 && std::isfinite(e))) throw Error("variant.options.exit_scale: must be a finite number >= 0");
  const int64_t k = o.at("exit_stride").to_number<int64_t>();
  if (k < 1) throw Error("variant.options.exit_stride: must be >= 1 (1: an exit after every block)");
}

Transformer build(const ModelConfig& cfg, const boost::json::object& o) {
  const int64_t L = cfg.n_layers;
  auto rates = layerdrop_rates(L, o.at("p_max").to_number<double>(), std::string(o.at("schedule").get_string()));
  Transformer m(cfg, std::make_shared<LayerDropGates>(rates, o.at("seed").to_number<uint64_t>()));
  const double scale = o.at("exit_scale").to_number<double>();
  const int64_t stride = o.at("exit_stride").to_number<int64_t>();
  if (scale > 0) {
    for (int64_t l = stride - 1; l < L - 1; l += stride) m->exit_layers.push_back(l);
    m->exit_weights = layerskip_exit_weights(L, m->exit_layers, scale);
  }
  return m;
}

const RegisterVariant reg({
    "layerdrop",
    "LayerDrop with LayerSkip's rising per-layer rate and shared-head early-exit loss; eval --exits: every depth",
    {
        {"p_max", OptionSpec::Kind::Number, 0.2, "drop rate of the last block (the rate rises to it)", {}},
        {"schedule", OptionSpec::Kind::String, "exponential", "how the rate rises over depth: LayerSkip's "
         "exponential 2^(l/(L-1)) - 1, linear l/(L-1), or uniform (every block p_max, the original LayerDrop)",
         {kSchedules[0], kSchedules[1], kSchedules[2]}},
        {"exit_scale", OptionSpec::Kind::Number, 0.1, "LayerSkip's e_scale: weight of the early-exit losses (0: none)", {}},
        {"exit_stride", OptionSpec::Kind::Int, 1, "an exit after every k-th block (each costs one head)", {}},
        {"seed", OptionSpec::Kind::Int, 0, "which (sequence, block) pairs drop", {}},
    },
    /*gated=*/false,
    build,
    validate,
});

}  // namespace
}  // namespace skipbench
