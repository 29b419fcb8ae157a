// transformer.h: the shared Llama-3-style decoder every variant is built on:
//   tokens -> embedding -> RMSNorm (input norm) -> L blocks -> RMSNorm (output norm) -> untied linear head.
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
  std::vector<torch::Tensor> gates;           // g_l for every layer (L of them); empty when dense
  std::vector<torch::Tensor> residual_norms;  // L2 norm of the residual after each block, detached; empty
                                              // unless the model's record_residual_norms is set
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
};

class TransformerImpl : public torch::nn::Module {
 public:
  // gates may be null (dense). The policy is registered as submodule "gates" (its parameters: group "masks").
  TransformerImpl(const ModelConfig& cfg, std::shared_ptr<GatePolicy> gates);
  ForwardOutput forward(const torch::Tensor& tokens);  // tokens: [B, T] int64, T <= max_seq_len

  // Real skipping (inference; hard_skip.cpp): each gated block computes only the tokens whose gate is non-zero
  // there. Active tokens are gathered (keeping their original positions for RoPE and causality), attend among
  // active keys only, run the FFN, and are scattered back; the others' residuals pass through untouched. With
  // binary gates this equals forward() with key gating up to the 1e-6 weight the soft path leaves on a skipped key.
  ForwardOutput forward_hard_skip(const torch::Tensor& tokens);
  // Whether forwards fill ForwardOutput::residual_norms (a metric only: the trainer asks for it on logged steps
  // and in validation, since it costs one reduction per block).
  bool record_residual_norms = true;
  // Number of (token, block) pairs the latest forward_hard_skip computed, and how many it could have.
  int64_t hard_skip_computed = 0, hard_skip_possible = 0;

  // Re-initialises every weight: N(0, init_std) for linear and embedding weights, 0 for biases, 1 for norms.
  void init_weights();

  ModelConfig cfg;
  torch::nn::Embedding tok_embeddings{nullptr};
  RMSNorm input_norm{nullptr}, output_norm{nullptr};
  torch::nn::ModuleList layers{nullptr};
  std::vector<Block> blocks;  // the same modules as `layers`, typed
  torch::nn::Linear output{nullptr};
  std::shared_ptr<GatePolicy> gates;

 private:
  RopeTables rope_for(const torch::Tensor& tokens);  // the first T rows, on the tokens' device
  // Block l's gate from its policy (under the "gate" range), recorded in out.gates; undefined when ungated.
  torch::Tensor gate_of(int64_t l, const torch::Tensor& h, ForwardOutput& out);
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
