// config.h: the run configuration. A config file is JSON with four sections, `model`, `variant`, `train`, `data`;
// every key has a default (see default_config_json()), a file overrides some, and `--set a.b=value` overrides
// again. Unknown keys and wrong types are refused with the file and the JSON path. The resolved JSON (defaults
// filled in) is what a run report records, so a run can be repeated from its report alone.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace skipbench {

struct ModelConfig {
  int64_t vocab_size = 257;
  int64_t dim = 128;
  int64_t n_layers = 8;
  int64_t n_heads = 4;
  int64_t n_kv_heads = 0;   // 0: same as n_heads (plain multi-head attention)
  int64_t ffn_hidden = 0;   // 0: 4 * dim (the paper's SwiGLU width)
  int64_t max_seq_len = 128;
  double norm_eps = 1e-5;
  double rope_theta = 10000.0;
  double init_std = 0.02;
  std::string norm = "sandwich";  // "sandwich" (the paper's) or "pre"
  // RMSNorm right after the embedding (the paper's model has one; Llama / SmolLM2 have none)
  bool input_norm = true;
  // The output head reuses the embedding matrix (SmolLM2); the paper's head is a separate linear
  bool tie_embeddings = false;
  // "math": scores, fp32 softmax and P.V written out (exact, any mask); "sdpa": at::scaled_dot_product_attention
  // with is_causal (fused kernels on GPU), the key-gate bias folded into an extra Q/K channel; "sdpa_mask": the
  // same op with the causal mask and gate bias as a dense additive mask (mem-efficient/math kernels; attention.h)
  std::string attention_impl = "math";

  int64_t kv_heads() const { return n_kv_heads > 0 ? n_kv_heads : n_heads; }
  int64_t hidden() const { return ffn_hidden > 0 ? ffn_hidden : 4 * dim; }
  int64_t head_dim() const { return dim / n_heads; }
};

struct PluginConfig {  // a variant or a gate controller: a registered name and its options
  std::string name;
  boost::json::object options;
};

struct OptimGroup {  // AdamW hyper-parameters of one parameter group
  double lr = 1e-3;
  double beta1 = 0.8;
  double beta2 = 0.95;
  double eps = 1e-10;
  double weight_decay = 0.0;
};
// {"lr", "betas": [beta1, beta2], "eps", "weight_decay"}: how config files and reports write a group.
boost::json::object to_json(const OptimGroup& g);

struct TrainConfig {
  uint64_t seed = 0;
  int64_t steps = 100;
  int64_t batch_size = 16;        // global batch, in sequences, per optimizer step
  int64_t micro_batch_size = 16;  // sequences per forward/backward; batch_size must be a multiple
  int64_t val_every = 50;         // validation every N steps (and always at the end); 0: only at the end
  int64_t val_max_batches = 0;    // 0: the whole validation split
  double warmup_frac = 0.1;       // linear warm-up over int(warmup_frac * steps) steps ...
  double warmup_start_factor = 0.1;  // ... from this fraction of each group's lr, then cosine decay to 0
  OptimGroup default_group, norms_group, masks_group;
  PluginConfig controller{"none", {}};
  std::string device = "cpu";     // "cpu", "cuda", or "auto"
  int64_t threads = 0;            // intra-op threads; 0: LibTorch's default
  int64_t log_every = 1;          // progress line every N steps
  double zero_eps = 1e-8;         // a gate counts as zero (skipped) when |g| < zero_eps
  int64_t checkpoint_every = 0;   // save model, optimizer, controller and data position every N steps (0: never)
  // Training budget: "steps" (value: steps; null = train.steps), "tokens" (steps = value / tokens per step),
  // "flops" (training FLOPs, standard mode: a run stops when its FLOPs at its realised sparsity reach value), or
  // "wall_clock" (seconds of training steps). Budgets other than steps drive the lr schedule by progress.
  std::string budget_kind = "steps";
  std::string optimizer_impl = "fused";  // train.optimizer.impl: "fused" (at::_fused_adamw_) or "loop" (optimizer.h)
  std::string precision = "fp32";        // "fp32" or "bf16" (autocast over fp32 master weights; autocast.h)
  // SDPA kernels allowed on CUDA (sdpa attention paths): "auto" (LibTorch's choice), or only one of "flash",
  // "efficient", "cudnn", "math" (a run fails loudly when the chosen kernel refuses the inputs)
  std::string sdpa_backend = "auto";
  // Training-time skipping: a token whose gate is exactly 0 at a block skips that block in the forward and the
  // backward (packed active tokens; TransformerImpl::skip_compute). Off: gates multiply, every block computes.
  bool skip_compute = false;
  // Data parallel: the gradients' all-reduce in buckets of about this many MiB (fp32), each started while the
  // last micro-batch's backward still runs (grad_buckets.h); 0: one flat all-reduce after the backward.
  double grad_bucket_mb = 0;
  double budget_value = 0;        // 0 with kind "steps": train.steps
  // Start from another run's weights (a run directory, e.g. from `skipbench import gguf`): every parameter of that
  // run is copied into this model by name and shape; parameters it lacks (a gate policy's masks) keep their init.
  std::string init_from;
  // "none", or "all_but_masks": only the gate policy's parameters train (gates learned over a frozen model)
  std::string freeze = "none";

  int64_t accumulation_steps() const { return batch_size / micro_batch_size; }
};

struct DataConfig {
  std::string train = "data/default/train_*.bin";  // glob of llm.c-format shards
  std::string val = "data/default/val_*.bin";
  std::string val_labels;  // optional glob of per-token difficulty labels aligned with `val` (synthetic data)
};

struct Config {
  ModelConfig model;
  PluginConfig variant{"skip_middle", {}};
  TrainConfig train;
  DataConfig data;
  boost::json::object resolved;  // the full JSON this config was built from (defaults filled in)
  std::string source;            // file it came from ("" for defaults)
};

// The JSON every config starts from; documents every key.
boost::json::object default_config_json();

// Loads `path` over the defaults, applies each "dotted.path=value" override, validates, and returns the result.
// `value` is parsed as JSON when it parses (numbers, true/false, arrays) and taken as a string otherwise.
// Throws Error naming the file and JSON path on any problem.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// Builds a Config from already-merged JSON (used by tests and by load_config). `source` names it in errors.
Config config_from_json(const boost::json::object& merged, const std::string& source);

// Applies one "a.b.c=value" override to `root` with the same type checks as a file.
void apply_override(boost::json::object& root, const std::string& assignment, const std::string& source);
// The same with an already-parsed value (suite files); `source` names where it came from in errors.
void apply_override_value(boost::json::object& root, const std::string& dotted, const boost::json::value& value,
                          const std::string& source);
// Merges a config file over `root` (defaults) with the strict checks of load_config.
void merge_config_file(boost::json::object& root, const std::string& path);
// The same with the file already parsed (fuzzing, tests); `source` names it in errors.
void merge_config_json(boost::json::object& root, const boost::json::value& file, const std::string& source);

}  // namespace skipbench
