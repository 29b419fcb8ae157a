// flops.h: estimated FLOPs of a model, per sequence of model.max_seq_len tokens, from the config and the measured
// per-layer gate sparsity (the fraction of tokens whose gate is below zero_eps at that layer).
//
// Two modes:
//   reference  exactly the released code's analysis/estimate_flops.py: forward only; RMSNorm, SiLU, softmax,
//              sqrt and exp constants; attention over the full T x T; and its factor 2 on the block FLOPs
//              (paper.md §4.3 argues it double-counts). Sparsity enters as the mean over layers; the total is
//              truncated to an integer as the code does. Training FLOPs as its plot script: forward x sequences.
//   standard   matmul FLOPs only, 2 per multiply-add (the PaLM/Chinchilla convention used for MFU): Q/K/V/O and
//              SwiGLU projections, the LM head, the gate linears, and attention scores and values over the full
//              T x T (4*T*d per token per layer; causal kernels skip about half of that work). Norms, softmax and
//              element-wise ops are not counted. Each block is scaled by (1 - its sparsity). Training = 3 x forward.
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "harness/config/config.h"

namespace skipbench {

enum class FlopsMode { reference, standard };
FlopsMode parse_flops_mode(const std::string& s);  // throws Error
const char* to_string(FlopsMode m);

struct FlopsEstimate {
  FlopsMode mode;
  double seq_len;
  std::vector<std::pair<std::string, double>> components;  // per sequence, forward
  double forward_per_sequence = 0;
  double forward_per_token = 0;
  double training_per_token = 0;  // reference: = forward (the code's convention); standard: 3 x forward
  double mean_sparsity = 0;
  boost::json::object to_json() const;
};

// layer_sparsity: empty (dense, 0), one value (all layers), or n_layers values. `gated`: count the gate linears.
FlopsEstimate estimate_flops(const ModelConfig& cfg, bool gated, const std::vector<double>& layer_sparsity,
                             FlopsMode mode);

// A variant's policy modules (VariantSpec::policy_flops: MoD's routers and predictors, residual_gates' gate
// linears), which the estimator does not see, added to an estimate as the component "policy": policy_per_token
// standard-mode forward FLOPs a token, counted once in the forward and, for training, x3 in standard mode
// (forward + backward) and x1 in reference mode (the released code's forward-only convention). <= 0: unchanged.
FlopsEstimate with_policy_flops(FlopsEstimate e, double policy_per_token);

// Training FLOPs per token of n early-exit heads (the layerdrop variant: each exit applies the shared output norm
// and head to the residual): standard 3 x 2 d V matmul FLOPs; reference the forward head and RMSNorm, as the
// released code's convention counts training (forward only).
double exit_heads_flops_per_token(const ModelConfig& cfg, int64_t n_exits, FlopsMode mode);

// Per-branch skipping (residual_gates): the shares of one block's standard-mode FLOPs per token (at
// T = max_seq_len, scores over the full T x T as estimate_flops counts them) that a token saves by skipping its
// attention branch (its q and o projections and its row of scores and values; its keys and values are still
// computed, since the others attend to them) and its FFN branch. A block where a fraction a of the tokens skip
// attention and f skip the FFN then costs what estimate_flops charges a block of sparsity
// first * a + second * f. (Applied to the reference mode too, whose block adds norms and element-wise terms.)
std::pair<double, double> branch_skip_shares(const ModelConfig& cfg);

// The released code's building blocks (per sequence), exposed for tests against hand computations.
namespace reference_flops {
double rms_norm(const ModelConfig& c);
double swiglu(const ModelConfig& c);
double attention(const ModelConfig& c);
double block(const ModelConfig& c);
double transformer(const ModelConfig& c, bool sparse, double sparsity);
}  // namespace reference_flops

}  // namespace skipbench
