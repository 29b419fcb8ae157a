// model_commands.h: subcommands about models made elsewhere or taken apart, registered on the top-level app:
//   import gguf [FILE] --out DIR [--seq-len T] [--text FILE | --no-data]   a llama GGUF file (SmolLM2-135M by
//                                                                          default) as a run directory
//   import skip-middle SRC --out DIR        a checkpoint of the paper's released code as a run directory
//   logits --run DIR --out FILE [--data GLOB] [--batches N]   the model's logits and inputs as safetensors (for
//                                                           comparing with another implementation)
//   layer-ablation --run DIR --out DIR2 [--data GLOB] [--max-batches N] [--lengths 1,2,4,8]   the redundancy map
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace skipbench {

using PythonHelper = std::function<int(const std::string& script, const std::vector<std::string>& args)>;

// Adds the subcommands; returns a function that runs whichever was parsed (its exit code), or -1 when none was.
// `python` runs a helper script of this checkout with the project's venv (import gguf, figures).
std::function<int()> register_model_commands(CLI::App& app, PythonHelper python);

}  // namespace skipbench
