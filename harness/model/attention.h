// attention.h: causal grouped-query self-attention with RoPE, softmax in fp32, and the skip-middle gate term.
//
// The gate term (AttentionGate) is where the paper and its released code differ (../shared/research/paper.md §1.4):
//   key       (the paper)   logit[i, j] += ln(clamp(g_j, 1e-6, 1)): a skipped position j gets ~0 weight from
//                           every later query, so later tokens cannot read its stale residual.
//   reference (the code)    logit[i, j] += ln(clamp(g_i, 1e-6, 1)): indexed by the query; a per-row constant,
//                           which softmax cancels, so it is a numerical no-op (tests show it).
//   none                    no term.
//
// The "sdpa" path keeps fused kernels (flash, cuDNN, is_causal) usable with the key gate: since the bias ln(g_j)
// is the same for every query and head, it folds into one extra channel, q' = [q, 1], k' = [k, ln(g_j) / scale],
// v' = [v, 0] (padded to a multiple of 8), so q'.k' * scale = q.k * scale + ln(g_j), and its gradient reaches the
// gates through dK'. No [B, H, T, T] mask exists. (libtorch-cupti.md §2, recipe B.)
// The "sdpa_mask" path passes the causal mask plus the gate term as a dense additive mask instead (recipe A): flash
// refuses masks and cuDNN gives them no gradient, so on CUDA it runs the mem-efficient (or math) kernel.
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <tuple>
#include <vector>

#include "harness/model/rope.h"

namespace skipbench {

enum class AttentionGate { none, key, reference };
enum class AttentionKernel { math, sdpa, sdpa_mask };  // model.attention_impl
AttentionKernel parse_attention_kernel(const std::string& s);  // throws Error
AttentionGate parse_attention_gate(const std::string& s);  // throws Error on an unknown name
const char* to_string(AttentionGate g);

constexpr double kGateLogFloor = 1e-6;  // ln(1e-6) = -13.8: the weight left on a fully skipped key

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t n_heads, int64_t n_kv_heads, AttentionKernel kernel = AttentionKernel::math);
  // x: [B, T, dim]; gate: undefined (no gating) or [B, T] in [0, 1]. Returns [B, T, dim].
  torch::Tensor forward(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                        AttentionGate mode);
  // The same with a ready additive mask [B or 1, 1, T, T] (causal -inf and any gate term folded in); rope rows
  // may be per sequence ([B, T, hd/2]) so that gathered tokens keep their original positions (hard skip).
  torch::Tensor forward_masked(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& mask);
  // Real skipping on packed tokens (hard_skip.cpp). xq [1, N, dim]: the normed active tokens, sequence by sequence
  // (counts[b] of sequence b) in position order, rope_q their rows [1, N, hd/2], q_pos [N] their positions.
  // With x_all undefined (key gating) the keys are the active tokens themselves, key_bias [N] (ln g, or undefined)
  // added per key, causal in packed order. With x_all [B, T, dim] (none / reference gating: skipped tokens stay
  // visible) the keys are every token of the sequence up to key_len[b], at rope_all's rows, causal by position.
  // The math path: scores in fp32, softmax, P v. Returns [1, N, dim].
  torch::Tensor forward_packed(const torch::Tensor& xq, const RopeTables& rope_q, const torch::Tensor& q_pos,
                               const std::vector<int64_t>& counts, const torch::Tensor& key_bias,
                               const torch::Tensor& x_all, const RopeTables& rope_all,
                               const std::vector<int64_t>& key_len);
  // Attention probabilities of the last forward, [B, H, T, T], kept only when keep_probs is set (tests, analysis).
  bool keep_probs = false;
  torch::Tensor last_probs;

  torch::nn::Linear wq{nullptr}, wk{nullptr}, wv{nullptr}, wo{nullptr};
  int64_t n_heads, n_kv_heads, head_dim;
  AttentionKernel kernel;  // how forward() computes attention (forward_masked always uses the math path)

 private:
  // q, k, v as [B, H, T, hd] after RoPE, kv heads repeated for grouped-query attention
  // q, k, v as [B, H, T, hd] (kv heads repeated for GQA), RoPE applied; q is also multiplied by q_scale (the math
  // path folds 1/sqrt(hd) into q's rotation instead of dividing the T x T scores). One matrix product for all
  // three projections where the fused CPU kernels apply (fp32 CPU), else three.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> project_qkv(const torch::Tensor& x, const RopeTables& rope,
                                                                      double q_scale = 1.0);
  // The math path: scores in fp32, + causal mask (+ ln g_j for key gating), softmax, P v
  torch::Tensor forward_math(const torch::Tensor& x, const RopeTables& rope, const torch::Tensor& gate,
                             AttentionGate mode);
  // q k^T / sqrt(hd) in fp32 [B, H, T, T], and v
  std::pair<torch::Tensor, torch::Tensor> scaled_scores(const torch::Tensor& x, const RopeTables& rope);
  // softmax of masked scores [B, H, T, T], then P v and the output projection
  torch::Tensor attend(const torch::Tensor& x, const torch::Tensor& masked_scores, const torch::Tensor& v);
  torch::Tensor causal_;  // [1, 1, T, T]: 0 on and below the diagonal, -inf above (the last length used)
  // the key gate through SDPA: folded into an extra Q/K channel, or as a dense additive mask
  torch::Tensor sdpa_folded(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& gate);
  torch::Tensor sdpa_masked(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                            const torch::Tensor& gate);
};
TORCH_MODULE(Attention);

// The additive term for the attention logits, broadcastable to [B, H, T, T]; undefined when mode is none or
// gate is undefined. Exposed for tests and for fused attention paths.
torch::Tensor attention_gate_bias(const torch::Tensor& gate, AttentionGate mode);

// Restricts the kernels at::scaled_dot_product_attention may pick (train.sdpa_backend): "auto" allows every one
// LibTorch has; "flash", "efficient", "cudnn" or "math" allows only that one, so a refusal is an error rather than a
// silent fallback. Process-wide. Throws Error on an unknown name.
void set_sdpa_backend(const std::string& name);
// The kernel the sdpa paths would run for attention inputs of this shape (one sequence of `seq_len`, inputs that
// require grad, as in training) on `device` in `dtype`: "flash_attention", "efficient_attention",
// "cudnn_attention", "math", "overrideable" or "error". For reports: which kernel a run's numbers come from.
std::string sdpa_kernel_choice(AttentionKernel kernel, int64_t n_heads, int64_t head_dim, int64_t seq_len,
                               bool key_gate, const torch::Device& device, torch::ScalarType dtype);

// Causal mask (0 on and below the diagonal, -inf above) plus the gate term: [B or 1, 1, T, T], fp32.
torch::Tensor attention_mask(int64_t seq_len, const torch::Tensor& gate, AttentionGate mode, const torch::Device& device);

}  // namespace skipbench
