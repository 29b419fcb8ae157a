// checkpoint.h: model weights on disk (LibTorch's serialisation), written atomically, and re-building a trained
// run's model from its run.json + model.pt (for `skipbench eval`).
#pragma once
#include <string>
#include <vector>

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
// load_run of a run whose status is "completed" (the only weights that are a trained model); otherwise throws
// Error "<dir>/run.json: the run is \"<status>\", <why>" (why: what the caller needed the weights for).
LoadedRun load_completed_run(const std::string& dir, const std::string& why);

// train.init_from: copies every parameter of the completed run in `dir` into `model` by name (shapes must match;
// a parameter the model lacks is an Error naming it). Returns the model's parameters the run did not have (they
// keep their initialisation: a gate policy's masks over a dense or imported model).
std::vector<std::string> init_from_run(Transformer& model, const std::string& dir);

}  // namespace skipbench
