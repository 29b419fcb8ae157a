// import_run.h: weights trained elsewhere, made into a skipbench run directory (run.json with status "completed",
// the resolved config, an "imported" record of the source; model.pt) that eval, profile, prune, layer-ablation and
// training from it (train.init_from) load like any trained run. Two sources:
//   gguf         what harness/imports/gguf_export.py wrote from a llama GGUF file (weights.safetensors under
//                skipbench's names + model.json: config and source record; optional tokenizer/ and data/, moved in)
//   skip-middle  a checkpoint of the paper's released code (github.com/tim-lawson/skip-middle): config.json of its
//                ModelConfig and model.safetensors with keys "model.tok_embeddings.weight" (bf16),
//                "model.layers.N.attention.wq.weight", ..., "model.masks.J.linear.{weight,bias}", untied
//                "model.output.weight" (the prefix is optional); imported as variant skip_middle with the paper's
//                key-masked attention, FFN width from the weights
// Every parameter of the built model must be found with its shape and nothing may be left over; otherwise Error
// names the file and the first tensor that does not fit.
#pragma once
#include <string>

namespace skipbench {

// export_dir: gguf_export.py's output; out: the run directory (must not hold a run.json). Returns out/run.json.
std::string import_gguf_export(const std::string& export_dir, const std::string& out);

// src: a directory with config.json and one *.safetensors (or model.safetensors); out as above.
std::string import_skip_middle(const std::string& src, const std::string& out);

}  // namespace skipbench
