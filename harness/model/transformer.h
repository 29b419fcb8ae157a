// transformer.h: the shared Llama-3-style decoder every variant is built on:
//   tokens -> embedding -> RMSNorm (input norm) -> L blocks -> RMSNorm (output norm) -> untied linear head.
// (model.input_norm = false drops the input norm and model.tie_embeddings = true makes the head the embedding
// matrix, as in Llama / SmolLM2 checkpoints imported with `skipbench import`; the paper's model has neither.)
// A variant differs only in its GatePolicy: the module that, before each block, looks at the residual entering it
// and returns that block's per-token gate (or none, for a dense block). This is the seam for skip-middle, for
// controllers forcing gates, and for later methods (Mixture-of-Depths-like routers, LayerSkip, ...).
#pragma once
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <vector>

#include "harness/config/config.h"
#include "harness/model/attention.h"
#include "harness/model/block.h"
#include "harness/model/rmsnorm.h"

namespace skipbench {

// What a forward pass returns besides logits, for losses and metrics. Per-layer lists hold [B, T] tensors.
struct ForwardOutput {
  torch::Tensor logits;                       // [B, T, vocab]
  std::vector<torch::Tensor> soft_masks;      // s_l, first-half layers (skip-middle); empty when dense
  std::vector<torch::Tensor> accumulated;     // S_l = s_0 + ... + s_l, first-half layers
  std::vector<torch::Tensor> gates;           // g_l for every layer (L of them; a block the policy left ungated
                                              // is recorded as ones); empty when dense or no block was gated
  std::vector<torch::Tensor> residual_norms;  // L2 norm of the residual after each block, detached; empty
                                              // unless the model's record_residual_norms is set
  std::vector<torch::Tensor> exit_logits;     // early exits, [B, T, vocab] each, through the shared output norm
                                              // and head: after the blocks in exit_layers (training forwards),
                                              // or after every block but the last (all_exits); else empty
  std::vector<torch::Tensor> aux_losses;      // scalar losses a policy adds to the training objective (MoD's
                                              // causal predictor); the trainer sums them into the objective
  // Per-branch residual gates (GatePolicy::has_branch_gates, the `residual_gates` variant): 2 entries per block,
  // attention then FFN, block by block. branch_scores: each token's importance score (the mean of its gate
  // vector), [B, T] each; branch_computed: 1 where the token computed that branch, 0 where the policy's skip rule
  // skipped it ([B, T] float; empty when no rule applied, e.g. in training). branch_saving: the share of one
  // block's standard-mode FLOPs a token saves by skipping its attention / FFN branch (flops.h
  // branch_skip_shares), so gate statistics can turn skipped branches into a block sparsity for the estimator.
  std::vector<torch::Tensor> branch_scores, branch_computed;
  std::pair<double, double> branch_saving{0.0, 0.0};
};

// The work real skipping executed (forward_hard_skip), in standard-mode FLOPs (2 per multiply-add, the matmuls
// flops.h counts), from the packed shapes: what ran, including keys and values of skipped tokens where the
// attention gate keeps them visible, and each sequence's full n_q x n_k score block. `dense_*`: what the same
// blocks cost computed densely (every token, T x T scores per sequence). Pairs: (token, block) computed/possible.
struct SkipWork {
  double projections = 0, attention = 0, ffn = 0;
  double dense_projections = 0, dense_attention = 0, dense_ffn = 0;
  int64_t computed = 0, possible = 0;
  double executed() const { return projections + attention + ffn; }
  double dense() const { return dense_projections + dense_attention + dense_ffn; }
  void add(const SkipWork& o);
};

// Decides each block's gate. Subclasses are torch modules so their parameters train with the model.
class GatePolicy : public torch::nn::Module {
 public:
  // Called once at the start of every forward.
  virtual void begin(int64_t batch, int64_t seq_len) {}
  // Gate of block `layer` given the residual h [B, T, dim] entering it: [B, T] in [0, 1], or an undefined tensor
  // for an ungated block. May append to out.soft_masks / out.accumulated.
  virtual torch::Tensor gate(int64_t layer, const torch::Tensor& h, ForwardOutput& out) = 0;
  virtual AttentionGate attention_gate() const { return AttentionGate::none; }
  // Per-token scale of block `layer`'s whole update, asked right after gate(): the block then outputs
  // h + s * (block(h) - h) (Mixture-of-Depths' router weight on the block's output); undefined: block(h) as is.
  virtual torch::Tensor output_scale(int64_t layer) { return {}; }
  // Routers that choose from the whole sequence (MoD's top-k: not causal) decide from each token alone when set
  // (MoD's causal predictor); has_causal_mode() says whether the policy has such a choice at all.
  virtual bool has_causal_mode() const { return false; }
  bool causal = false;
  // Per-branch gates (GateSkip's residual gates): when has_branch_gates(), the model asks branch_gate() for a
  // multiplier on each sub-layer's output as it re-enters the residual, given the residual r [B, T, dim] entering
  // that sub-layer (branch 0: attention, 1: FFN): [B, T, G] with G = dim or 1; gate() is then not asked. A token
  // whose multiplier is exactly 0 at a branch (the policy's skip rule at evaluation) skips that branch: the packed
  // path (skip_compute, forward_hard_skip) does not compute it, its keys and values stay visible to the others.
  virtual bool has_branch_gates() const { return false; }
  virtual torch::Tensor branch_gate(int64_t layer, int branch, const torch::Tensor& r, ForwardOutput& out) {
    return {};
  }
  // Policies with an evaluation-time skip rule (residual_gates' threshold or token budget): when full_compute is
  // set the rule is off and every branch computes; the trainer validates both ways.
  virtual bool has_skip_rule() const { return false; }
  bool full_compute = false;
  // Which random draw a stochastic policy (LayerDrop) uses for this forward: the trainer sets step x accumulation
  // + micro-batch before each training forward, so the gates are a function of (seed, draw) and a resumed run
  // draws exactly what the uninterrupted one would have, with no RNG state in the checkpoint.
  int64_t draw = 0;
};

class TransformerImpl : public torch::nn::Module {
 public:
  // gates may be null (dense). The policy is registered as submodule "gates" (its parameters: group "masks").
  TransformerImpl(const ModelConfig& cfg, std::shared_ptr<GatePolicy> gates);
  ForwardOutput forward(const torch::Tensor& tokens);  // tokens: [B, T] int64, T <= max_seq_len

  // Real skipping (inference; hard_skip.cpp): each gated block computes only the tokens whose gate is non-zero
  // there. The active tokens of the whole batch are packed into one [N_active, dim] matrix (sequence by sequence,
  // in position order) for the norms, projections and FFN; attention runs per sequence at the tokens' original
  // positions (RoPE, causality). Key gating: among the active keys only, which equals forward() up to the 1e-6
  // weight the soft path leaves on a skipped key. none / reference: skipped tokens' keys and values are computed
  // too and stay visible, which is exactly forward() for those models. A block with no active token is skipped
  // whole; one whose every token is active runs densely (the same computation without the packing).
  ForwardOutput forward_hard_skip(const torch::Tensor& tokens);
  // Whether forwards fill ForwardOutput::residual_norms (a metric only: the trainer asks for it on logged steps
  // and in validation, since it costs one reduction per block).
  bool record_residual_norms = true;
  // Training-time skipping (train.skip_compute): forward() runs each gated block as forward_hard_skip does, with
  // gradients: a token whose gate is exactly 0 at a block skips it in the forward and the backward. With key gating
  // the soft path multiplies that block's output by 0 and passes no gradient through the gate's clamp, so loss and
  // gradients are the soft path's up to the 1e-6 weight it leaves on skipped keys; none / reference: exact.
  // Costs one host read per gated block (the packed shapes).
  bool skip_compute = false;
  // The work the latest forward_hard_skip (or forward with skip_compute) executed.
  SkipWork skip_work;
  // Early exit (LayerSkip-style, the `layerdrop` variant): training forwards also compute logits after the blocks
  // in exit_layers (0-based, each < n_layers - 1) with the model's own output norm and head (shared: no new
  // weights); the objective is exit_weights[i] x CE(exit i) + exit_weights.back() x CE(final) (the trainer).
  std::vector<int64_t> exit_layers;
  std::vector<double> exit_weights;  // exit_layers.size() + 1 values summing to 1, or empty
  // Evaluation at every exit depth (`eval --exits`): forward() fills exit_logits after every block but the last.
  bool all_exits = false;
  // 0: every block; d in 1..n_layers: forward() runs only the first d blocks and exits there (timing early exit).
  int64_t depth = 0;

  // tokens -> the residual entering block 0 (embedding, then the input norm where the model has one)
  torch::Tensor embed(const torch::Tensor& tokens);
  // the residual after the last block (or an exit) -> logits: output norm, then the head (tied or not)
  torch::Tensor head(const torch::Tensor& h);
  // The head's weight [vocab, dim]: output->weight, or the embedding's when tied.
  torch::Tensor head_weight() const;

  // Re-initialises every weight: N(0, init_std) for linear and embedding weights, 0 for biases, 1 for norms.
  void init_weights();

  ModelConfig cfg;
  torch::nn::Embedding tok_embeddings{nullptr};
  RMSNorm input_norm{nullptr}, output_norm{nullptr};  // input_norm: null without model.input_norm
  torch::nn::ModuleList layers{nullptr};
  std::vector<Block> blocks;  // the same modules as `layers`, typed
  torch::nn::Linear output{nullptr};  // null with model.tie_embeddings (head_weight() is the embedding)
  std::shared_ptr<GatePolicy> gates;

 private:
  RopeTables rope_for(const torch::Tensor& tokens);  // the first T rows, on the tokens' device
  // Block l's gate from its policy (under the "gate" range), recorded in out.gates; undefined when ungated.
  torch::Tensor gate_of(int64_t l, const torch::Tensor& h, ForwardOutput& out);
  // Block l computed only for the tokens whose gate g is non-zero (hard_skip.cpp); counts its work into w.
  torch::Tensor skip_block(int64_t l, const torch::Tensor& h, const torch::Tensor& g, const RopeTables& rope,
                           AttentionGate mode, SkipWork& w);
  // Block l with per-branch gates (GatePolicy::branch_gate), each branch computed only for the tokens whose
  // multiplier is non-zero (hard_skip.cpp); (token, branch) pairs count into w.computed / w.possible.
  torch::Tensor skip_branches(int64_t l, const torch::Tensor& h, const BranchGateFn& bg, const RopeTables& rope,
                              SkipWork& w);
  RopeTables rope_;
};
TORCH_MODULE(Transformer);

// Parameter groups for the optimizer, by role: norms (every RMSNorm weight), masks (the gate policy's
// parameters), default (everything else). Names are the module paths ("layers.0.attention.wq.weight").
struct ParamGroups {
  std::vector<std::pair<std::string, torch::Tensor>> default_group, norms, masks;
};
ParamGroups param_groups(TransformerImpl& model);

}  // namespace skipbench
