// checkpoint.h: model weights on disk (LibTorch's serialisation), written atomically, and re-building a trained
// run's model from its run.json + model.pt (for `skipbench eval`).
#pragma once
#include <string>

#include "harness/config/config.h"
#include "harness/model/transformer.h"

namespace skipbench {

void save_model(Transformer& model, const std::string& path);  // path.tmp.<pid>, then rename
void load_model(Transformer& model, const std::string& path);  // throws Error naming the file on a mismatch

struct LoadedRun {
  Config config;
  Transformer model{nullptr};
};
// Reads DIR/run.json (its fully resolved config) and DIR/model.pt. Throws Error naming the file.
LoadedRun load_run(const std::string& dir);

}  // namespace skipbench
