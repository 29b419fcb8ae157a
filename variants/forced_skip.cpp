// forced_skip.cpp: the `forced_skip` variant: skip-middle geometry with gates fixed at exactly 0 or 1 instead of
// learned, so a chosen fraction of (token, block) pairs is skipped. For benchmarks of real skipping (hard skip
// against FLOPs estimates at sparsity 0, 0.25, 0.5, 0.75) and for exactness tests.
// Each position t skips k(t) blocks, the middle ones (blocks (L-k)/2 .. (L+k)/2 - 1), with k even; k(t) is
// k_lo or k_lo + 2 (k_lo = the largest even number <= s*L), drawn per position from a hash of (seed, t) so that
// the mean of k/L is s. With row_spread = 0 every sequence of a batch has the same pattern; with row_spread r > 0
// sequence b of B has its own sparsity s_b = clamp(s * (1 + r * (2b/(B-1) - 1)), 0, 1) (evenly spread around s:
// with r = 1 and s <= 0.5 from 0, a fully computed row, to 2s) and its own positions, so rows differ in their
// active counts at every partly skipped block: the mixed per-row patterns real skipping must handle.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "harness/common/error.h"
#include "harness/common/hash.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {
namespace {

class ForcedSkipGates : public GatePolicy {
 public:
  ForcedSkipGates(int64_t L, double s, uint64_t seed, AttentionGate ag, double spread)
      : L_(L), s_(s), seed_(seed), ag_(ag), spread_(spread) {}
  void begin(int64_t B, int64_t T) override {
    // the pattern depends only on (B, T): built once and kept on the device it was last used on, so a forward
    // makes no host-to-device copy after the first
    if (start_.defined() && start_.size(0) == B && start_.size(1) == T) return;
    const int64_t rows = spread_ > 0 ? B : 1;
    std::vector<int64_t> start(rows * T);
    for (int64_t b = 0; b < rows; ++b) {
      const double sb = rows > 1 ? std::clamp(s_ * (1 + spread_ * (2.0 * b / (rows - 1) - 1)), 0.0, 1.0) : s_;
      const double target = sb * static_cast<double>(L_);
      const int64_t k_lo = 2 * static_cast<int64_t>(std::floor(target / 2.0));
      const double p_hi = (target - static_cast<double>(k_lo)) / 2.0;  // chance of skipping k_lo + 2 blocks
      for (int64_t t = 0; t < T; ++t) {
        const uint64_t key = seed_ * 1000003ULL + static_cast<uint64_t>(t) + static_cast<uint64_t>(b) * 0x9E3779B9ULL;
        const double u = static_cast<double>(splitmix64(key) >> 11) * 0x1.0p-53;
        const int64_t k = std::min(L_, k_lo + (u < p_hi ? 2 : 0));
        start[b * T + t] = (L_ - k) / 2;  // first skipped block
      }
    }
    start_ = torch::tensor(start, torch::kInt64).view({rows, T}).expand({B, T}).contiguous();
  }
  torch::Tensor gate(int64_t l, const torch::Tensor& h, ForwardOutput&) override {
    const int64_t first_half_index = l < L_ / 2 ? l : L_ - 1 - l;
    if (start_.device() != h.device()) start_ = start_.to(h.device());  // once, not per forward
    auto open = start_ > first_half_index;
    return open.to(torch::kFloat32);
  }
  AttentionGate attention_gate() const override { return ag_; }

 private:
  int64_t L_;
  double s_;
  uint64_t seed_;
  AttentionGate ag_;
  double spread_;
  torch::Tensor start_;
};

void validate(const ModelConfig& cfg, const boost::json::object& o) {
  if (cfg.n_layers % 2 != 0)
    throw Error("model.n_layers: forced_skip needs an even number of layers, got " + std::to_string(cfg.n_layers));
  const double s = o.at("sparsity").to_number<double>();
  if (!(s >= 0 && s <= 1)) throw Error("variant.options.sparsity: must be in [0, 1]");
  const double spread = o.at("row_spread").to_number<double>();
  if (!(spread >= 0 && spread <= 1)) throw Error("variant.options.row_spread: must be in [0, 1]");
}

Transformer build(const ModelConfig& cfg, const boost::json::object& o) {  // after validate (build_model)
  const double s = o.at("sparsity").to_number<double>(), spread = o.at("row_spread").to_number<double>();
  return Transformer(cfg, std::make_shared<ForcedSkipGates>(cfg.n_layers, s, o.at("seed").to_number<uint64_t>(),
                                                            parse_attention_gate(std::string(o.at("attention_gate").get_string())),
                                                            spread));
}

const RegisterVariant reg({
    "forced_skip",
    "skip-middle geometry with fixed 0/1 gates at a chosen sparsity (benchmarks, exactness tests)",
    {
        {"sparsity", OptionSpec::Kind::Number, 0.5, "fraction of (token, block) pairs skipped", {}},
        {"seed", OptionSpec::Kind::Int, 0, "which positions skip more", {}},
        {"attention_gate", OptionSpec::Kind::String, "key", "as for skip_middle", {"key", "none", "reference"}},
        {"row_spread", OptionSpec::Kind::Number, 0.0,
         "0: every sequence the same pattern; r > 0: sequence b's sparsity spread evenly over s * (1 +- r)", {}},
    },
    /*gated=*/true,
    build,
    validate,
});

}  // namespace
}  // namespace skipbench
