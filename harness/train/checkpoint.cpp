// checkpoint.cpp: see checkpoint.h.
#include "harness/train/checkpoint.h"

#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"
#include "harness/registry/variant_registry.h"
#include "harness/metrics/run_report.h"

namespace skipbench {

// Serialised in memory first, then written by write_file_atomic: LibTorch's file writer reports a failed write
// (a full disk) from its destructor, which terminates the process; a memory buffer cannot fail that way, and the
// file write then fails cleanly (one line, no temporary left, the previous file intact).
void save_model(Transformer& model, const std::string& path) {
  std::ostringstream bytes;
  torch::save(model, bytes);
  write_file_atomic(path, bytes.str());
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
  const std::string path = fs::join(dir, "run.json");
  const boost::json::value report = read_run_report(path);
  LoadedRun r;
  r.config = config_from_json(JsonField(report, path)["config"].object(), path);
  r.model = build_model(r.config.model, r.config.variant);
  load_model(r.model, fs::join(dir, "model.pt"));
  return r;
}

LoadedRun load_completed_run(const std::string& dir, const std::string& why) {
  const std::string rj = fs::join(dir, "run.json");
  const std::string status = JsonField(read_run_report(rj), rj)["status"].str();  // before the weights: a
  if (status != "completed") throw Error(rj + ": the run is \"" + status + "\", " + why);  // diverged run has none
  return load_run(dir);
}

std::vector<std::string> init_from_run(Transformer& model, const std::string& dir) {
  auto src = load_completed_run(dir, "not a trained model to start from (train.init_from)");
  auto dst = model->named_parameters(/*recurse=*/true);
  torch::NoGradGuard ng;
  std::set<std::string> copied;
  for (const auto& item : src.model->named_parameters(/*recurse=*/true)) {
    auto* p = dst.find(item.key());
    if (!p)
      throw Error("train.init_from: " + dir + ": parameter " + item.key() +
                  " has no place in this model (model.* must match the run's)");
    if (p->sizes() != item.value().sizes())
      throw Error("train.init_from: " + dir + ": parameter " + item.key() + " has another shape than this model's "
                  "(model.* must match the run's)");
    p->copy_(item.value());
    copied.insert(item.key());
  }
  std::vector<std::string> fresh;
  for (const auto& item : dst)
    if (!copied.count(item.key())) fresh.push_back(item.key());
  return fresh;
}

}  // namespace skipbench
