// run_checkpoint.cpp: a Run's checkpoints (run.h). DIR/checkpoint/ holds the model and optimizer state of the
// latest checkpointed step and state.json (step, loader position, controller state, the curves so far, config);
// resuming restores all of it and keeps the metrics.jsonl records of the steps before the checkpoint, so the
// resumed run's files and loss curve equal an uninterrupted run's (bit-identical on CPU). The previous checkpoint is
// kept beside it (state_prev.json and its files): when the latest cannot be read (truncated or corrupt by a crash
// of the disk, not of skipbench: every file is written atomically), the run resumes from the previous one and says
// so, instead of failing the same way on every retry.
#include <torch/torch.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"
#include "harness/train/checkpoint.h"
#include "harness/train/run.h"

namespace skipbench::train_detail {
namespace json = boost::json;

// Files are step-stamped and state.json (renamed into place last) names them, so a crash at any moment leaves
// either the previous complete checkpoint or the new one.
void Run::save_checkpoint() {
  const std::string dir = fs::join(out_, "checkpoint");
  fs::make_dirs(dir);
  const std::string tag = std::to_string(step_);
  try {
    save_model(model_, fs::join(dir, "model_" + tag + ".pt"));
    optim_->save(fs::join(dir, "optim_" + tag + ".pt"));
  } catch (const Error&) {  // e.g. a full disk: drop this half-written checkpoint, keep the previous one
    std::remove(fs::join(dir, "model_" + tag + ".pt").c_str());
    std::remove(fs::join(dir, "optim_" + tag + ".pt").c_str());
    throw;
  }
  const auto& pos = train_data_->position();
  json::object history{{"train_loss", json_array(train_loss_)}, {"train_reg", json_array(train_reg_)},
                       {"train_lr", json_array(train_lr_)},     {"step_s", json_array(step_s_)},
                       {"val_loss", json_array(val_loss_)},     {"flops_standard", flops_standard_},
                       {"flops_reference", flops_reference_},   {"train_seconds", train_seconds_},
                       {"val_seconds", val_seconds_},           {"elapsed_s", elapsed()}};
  json::object state{{"schema", "skipbench.checkpoint"},
                     {"schema_version", 1},
                     {"step", step_},
                     {"config", compact_json(resolved_)},
                     {"loader", json::object{{"epoch", pos.epoch}, {"shard", pos.shard}, {"offset", pos.offset}}},
                     {"world_size", dist_.world},
                     {"world_segments", [&] {
                        json::array a;
                        for (const auto& [from, w] : world_segments_) a.push_back(json::array{from, w});
                        return a;
                      }()},
                     {"controller", exact_numbers(controller_->state())},
                     {"history", exact_numbers(history)},
                     {"val_steps", json_array(val_steps_)},
                     {"last_train_stats", last_train_stats_},
                     {"model", "model_" + tag + ".pt"},
                     {"optimizer", "optim_" + tag + ".pt"}};
  // the latest becomes the previous (one rename), then the new one is renamed into place; a crash between the two
  // leaves state_prev.json alone, which load_checkpoint() resumes from
  const std::string latest = fs::join(dir, "state.json"), prev = fs::join(dir, "state_prev.json");
  std::string prev_tag;
  if (fs::exists(latest)) {
    try {
      const json::value old = read_json_file(latest);
      prev_tag = std::to_string(JsonField(old, latest)["step"].integer(0));
    } catch (const Error&) {  // an unreadable latest is no use as the previous one either
    }
    if (!prev_tag.empty() && std::rename(latest.c_str(), prev.c_str()) != 0)
      throw Error(prev + ": cannot rename the previous checkpoint state into place (" + std::strerror(errno) + ")");
  }
  write_file_atomic(latest, pretty_json(state));
  if (prev_tag.empty()) std::remove(prev.c_str());
  for (const auto& f : fs::list_dir(dir)) {  // checkpoints older than these two
    const bool mine = f == "model_" + tag + ".pt" || f == "optim_" + tag + ".pt";
    const bool prevs = !prev_tag.empty() && (f == "model_" + prev_tag + ".pt" || f == "optim_" + prev_tag + ".pt");
    if ((f.rfind("model_", 0) == 0 || f.rfind("optim_", 0) == 0) && !mine && !prevs) std::remove(fs::join(dir, f).c_str());
  }
}

namespace {
struct OtherConfig : Error {  // the checkpoint is fine but belongs to another config: never fall back from that
  using Error::Error;
};
}  // namespace

bool Run::load_checkpoint() {
  const std::string dir = fs::join(out_, "checkpoint");
  if (out_.empty()) return false;
  std::vector<std::string> candidates;
  for (const char* f : {"state.json", "state_prev.json"})
    if (fs::exists(fs::join(dir, f))) candidates.push_back(fs::join(dir, f));
  if (candidates.empty()) return false;
  // a checkpoint that cannot be read (truncated or corrupt files) will never resume: say what to do about it
  const std::string fix = "; it cannot be resumed: remove " + dir + " to restart this run from step 0 (or restore "
                          "the file from a backup)";
  std::string first_error;
  for (const auto& path : candidates) {
    try {
      load_state_file(path, dir);
      if (!first_error.empty())
        progress_.line("skipbench train: the latest checkpoint is unreadable (" + first_error +
                       "); resuming from the previous one, after step " + std::to_string(step_));
      resumed_from_ = step_;
      return true;
    } catch (const OtherConfig&) {
      throw;
    } catch (const Error& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  throw Error(first_error + (candidates.size() > 1 ? " (the previous checkpoint is unreadable too)" : "") + fix);
}

// One checkpoint state file and the files it names, into this run; throws Error naming the file and JSON path.
void Run::load_state_file(const std::string& path, const std::string& dir) {
  const json::value doc = read_json_file(path);
  const JsonField s(doc, path);
  (void)s["config"].str(), (void)s["model"].str(), (void)s["optimizer"].str();
  if (s["config"].str() != compact_json(resolved_))
    throw OtherConfig(path + ": the checkpoint belongs to a different config; resume with the same config or use a new --out");
  const std::string model_file = fs::join(dir, s["model"].str());
  const std::string optim_file = fs::join(dir, s["optimizer"].str());
  try {
    load_model(model_, model_file);
    optim_->load(optim_file);
  } catch (const Error& e) {  // the config matched (above), so this is a damaged file, not another config
    const std::string what = e.what();
    throw Error(what.substr(0, what.find(": ")) + ": this checkpoint file is unreadable (truncated or corrupt)");
  }
  {  // every member named by its JSON path when it is missing or mistyped
    const auto l = s["loader"];
    // the position of the next round of the global window stream: the same on every rank and every world size
    // (loader.h), so a checkpoint written by W ranks resumes on any world size that divides the global batch
    train_data_->set_position({l["epoch"].integer(0), static_cast<size_t>(l["shard"].integer(0)),
                               static_cast<size_t>(l["offset"].integer(0))});
    world_segments_.clear();  // older checkpoints have only world_size: one stretch from step 0
    if (s.has("world_segments"))
      for (const auto& seg : s["world_segments"].elements()) world_segments_.emplace_back(seg[0].integer(0), seg[1].integer(1));
    else
      world_segments_.emplace_back(0, s.has("world_size") ? s["world_size"].integer(1) : 1);
    const json::value controller = restore_numbers(s["controller"].value());
    controller_->load_state(JsonField(controller, path, "controller"));
  }
  {
    const json::value hist = restore_numbers(s["history"].value());
    const JsonField h(hist, path, "history");
    train_loss_ = h["train_loss"].doubles();
    train_reg_ = h["train_reg"].doubles();
    train_lr_ = h["train_lr"].doubles();
    step_s_ = h["step_s"].doubles();
    val_loss_ = h["val_loss"].doubles();
    flops_standard_ = h["flops_standard"].number();
    flops_reference_ = h["flops_reference"].number();
    train_seconds_ = h["train_seconds"].number();
    val_seconds_ = h["val_seconds"].number();
    prior_elapsed_ = h["elapsed_s"].number();
    val_steps_ = s["val_steps"].ints();
    last_train_stats_ = s["last_train_stats"].object();
    step_ = s["step"].integer(0);
    if (train_loss_.size() != static_cast<size_t>(step_) || val_steps_.size() != val_loss_.size())
      s["history"].fail("the curves do not match step " + std::to_string(step_) + " (" + std::to_string(train_loss_.size()) +
                        " train losses, " + std::to_string(val_loss_.size()) + " val losses for " +
                        std::to_string(val_steps_.size()) + " val steps)");
  }
}

// metrics.jsonl: a fresh run truncates it; a resumed one keeps the records up to its checkpoint (train records of
// the steps before it, validations at or before it) and drops any written after it by the interrupted process.
void Run::open_metrics(bool resumed) {
  if (out_.empty()) return;
  const std::string path = fs::join(out_, "metrics.jsonl");
  if (resumed) {
    std::ifstream in(path);
    std::string line, kept;
    for (size_t n = 1; std::getline(in, line); ++n) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!v.is_object()) continue;  // a line cut short by the interrupted process
      const JsonField rec(v, path + " line " + std::to_string(n));
      const auto st = rec["step"].integer(0);
      const bool val = rec["kind"].str() == "val";
      if ((!val && st < step_) || (val && st <= step_)) kept += line + "\n";
    }
    write_file_atomic(path, kept);
  }
  metrics_ = std::make_unique<MetricsLog>(path, /*append=*/resumed);
}

}  // namespace skipbench::train_detail
