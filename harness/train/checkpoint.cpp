// checkpoint.cpp: see checkpoint.h.
#include "harness/train/checkpoint.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/registry/variant_registry.h"
#include "harness/metrics/run_report.h"

namespace skipbench {

void save_model(Transformer& model, const std::string& path) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  torch::save(model, tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot rename the saved model into place");
  }
}

void load_model(Transformer& model, const std::string& path) {
  if (!fs::exists(path)) throw Error(path + ": no model weights (was the run completed?)");
  try {
    torch::load(model, path);
  } catch (const c10::Error& e) {
    throw Error(path + ": cannot load model weights into this config (" + e.what_without_backtrace() + ")");
  }
}

LoadedRun load_run(const std::string& dir) {
  auto report = read_run_report(fs::join(dir, "run.json"));
  LoadedRun r;
  r.config = config_from_json(report.at("config").as_object(), fs::join(dir, "run.json"));
  r.model = build_model(r.config.model, r.config.variant);
  load_model(r.model, fs::join(dir, "model.pt"));
  return r;
}

}  // namespace skipbench
