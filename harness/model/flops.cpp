// flops.cpp: see flops.h. The reference functions follow estimate_flops.py term by term (re-derived, not copied).
#include "harness/model/flops.h"

#include <boost/json.hpp>
#include <cmath>
#include <numeric>

#include "harness/common/error.h"

namespace skipbench {

FlopsMode parse_flops_mode(const std::string& s) {
  if (s == "reference") return FlopsMode::reference;
  if (s == "standard") return FlopsMode::standard;
  throw Error("--mode: unknown FLOPs mode '" + s + "' (choose reference or standard)");
}
const char* to_string(FlopsMode m) { return m == FlopsMode::reference ? "reference" : "standard"; }

namespace reference_flops {
namespace {
constexpr double kSqrt = 8, kExp = 10, kSoftmax = kExp + 2, kSilu = kExp + 4;
}
double rms_norm(const ModelConfig& c) { return double(c.max_seq_len) * (4.0 * c.dim + 2 + kSqrt); }
double swiglu(const ModelConfig& c) {
  const double T = c.max_seq_len, d = c.dim, F = c.hidden();
  return 2 * T * d * F + 2 * T * F * d + 2 * T * d * F + T * F * kSilu + T * F;
}
double attention(const ModelConfig& c) {
  const double T = c.max_seq_len, d = c.dim, H = c.n_heads, Hkv = c.kv_heads(), hd = c.head_dim();
  double f = 2 * T * d * H * hd + 2 * T * d * Hkv * hd + 2 * T * d * Hkv * hd;
  // rotary: complex multiplies of q and k; the code's integer division by 2 is exact since head_dim is even
  f += 6 * T * H * hd / 2 + 6 * T * Hkv * hd / 2;
  f += 2 * T * T * d;            // q k^T
  f += H * T * T + H * T * T;    // / sqrt(d_h), + mask
  f += H * T * T * kSoftmax;     // softmax
  f += 2 * T * T * d;            // P v
  f += 2 * T * d * d;            // wo
  return f;
}
double block(const ModelConfig& c) {
  const double T = c.max_seq_len, d = c.dim;
  return attention(c) + swiglu(c) + 4 * rms_norm(c) + 4 * T * d;  // 2 gate multiplies + 2 residual adds
}
double transformer(const ModelConfig& c, bool sparse, double sparsity) {
  const double T = c.max_seq_len, d = c.dim, L = c.n_layers;
  double f = rms_norm(c);  // input norm (the embedding lookup is free)
  if (sparse) {
    f += 2 * (0.5 * L) * T * d;  // mask linears
    f += (0.5 * L - 1) * T;      // accumulation adds
  }
  f += 2 * (1 - sparsity) * L * block(c);  // the code's factor 2
  f += rms_norm(c);
  f += 2 * T * d * c.vocab_size;
  return std::trunc(f);
}
}  // namespace reference_flops

FlopsEstimate estimate_flops(const ModelConfig& c, bool gated, const std::vector<double>& sp, FlopsMode mode) {
  const int64_t L = c.n_layers;
  std::vector<double> s(L, 0.0);
  if (sp.size() == 1) s.assign(L, sp[0]);
  else if (!sp.empty()) {
    require(static_cast<int64_t>(sp.size()) == L, "sparsity: expected 1 or n_layers values");
    s = sp;
  }
  for (double x : s) require(x >= 0 && x <= 1, "sparsity: each value must be in [0, 1]");
  FlopsEstimate e;
  e.mode = mode;
  e.seq_len = double(c.max_seq_len);
  e.mean_sparsity = std::accumulate(s.begin(), s.end(), 0.0) / double(L);
  const double T = c.max_seq_len, d = c.dim, V = c.vocab_size;
  if (mode == FlopsMode::reference) {
    namespace r = reference_flops;
    const double blocks = 2 * (1 - e.mean_sparsity) * double(L) * r::block(c);
    const double masks = gated ? 2 * (0.5 * L) * T * d + (0.5 * L - 1) * T : 0.0;
    e.components = {{"input_norm", r::rms_norm(c)}, {"gate_masks", masks},         {"blocks", blocks},
                    {"output_norm", r::rms_norm(c)}, {"head", 2 * T * d * V}};
    e.forward_per_sequence = r::transformer(c, gated, e.mean_sparsity);
    e.forward_per_token = e.forward_per_sequence / T;
    e.training_per_token = e.forward_per_token;
  } else {
    const double H = c.n_heads, Hkv = c.kv_heads(), hd = c.head_dim(), F = c.hidden();
    const double proj = 2 * T * (d * H * hd + 2 * d * Hkv * hd + H * hd * d);
    const double attn = 4 * T * T * H * hd;
    const double ffn = 2 * T * 3 * d * F;
    double p = 0, a = 0, f = 0;
    for (int64_t l = 0; l < L; ++l) {
      p += (1 - s[l]) * proj;
      a += (1 - s[l]) * attn;
      f += (1 - s[l]) * ffn;
    }
    const double masks = gated ? 2 * (0.5 * L) * T * d : 0.0;
    e.components = {{"attention_projections", p}, {"attention_scores_values", a}, {"ffn", f},
                    {"gate_masks", masks},         {"head", 2 * T * d * V}};
    e.forward_per_sequence = p + a + f + masks + 2 * T * d * V;
    e.forward_per_token = e.forward_per_sequence / T;
    e.training_per_token = 3 * e.forward_per_token;
  }
  return e;
}

std::pair<double, double> branch_skip_shares(const ModelConfig& c) {
  // per token, standard mode, as estimate_flops' block
  const double T = c.max_seq_len, d = c.dim, H = c.n_heads, Hkv = c.kv_heads(), hd = c.head_dim(), F = c.hidden();
  const double q_o = 2 * (d * H * hd + H * hd * d), k_v = 2 * (2 * d * Hkv * hd), scores = 4 * T * H * hd;
  const double ffn = 2 * 3 * d * F;
  const double block = q_o + k_v + scores + ffn;
  return {(q_o + scores) / block, ffn / block};
}

FlopsEstimate with_policy_flops(FlopsEstimate e, double policy) {
  if (policy <= 0) return e;
  e.components.emplace_back("policy", policy * e.seq_len);
  e.forward_per_sequence += policy * e.seq_len;
  e.forward_per_token += policy;
  e.training_per_token += e.mode == FlopsMode::standard ? 3 * policy : policy;
  return e;
}

double exit_heads_flops_per_token(const ModelConfig& c, int64_t n, FlopsMode mode) {
  const double head = 2.0 * static_cast<double>(c.dim) * static_cast<double>(c.vocab_size);
  if (mode == FlopsMode::standard) return 3.0 * head * static_cast<double>(n);
  return (head + reference_flops::rms_norm(c) / static_cast<double>(c.max_seq_len)) * static_cast<double>(n);
}

boost::json::object FlopsEstimate::to_json() const {
  boost::json::object comp;
  for (const auto& [k, v] : components) comp[k] = v;
  return {{"mode", to_string(mode)},
          {"seq_len", seq_len},
          {"mean_sparsity", mean_sparsity},
          {"components_per_sequence", comp},
          {"forward_per_sequence", forward_per_sequence},
          {"forward_per_token", forward_per_token},
          {"training_per_token", training_per_token}};
}

}  // namespace skipbench
