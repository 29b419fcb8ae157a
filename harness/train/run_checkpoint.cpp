// run_checkpoint.cpp: a Run's checkpoints (run.h). DIR/checkpoint/ holds the model and optimizer state of the
// latest checkpointed step and state.json (step, loader position, controller state, the curves so far, config);
// resuming restores all of it and keeps the metrics.jsonl records of the steps before the checkpoint, so the
// resumed run's files and loss curve equal an uninterrupted run's (bit-identical on CPU).
#include <torch/torch.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
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
                     {"controller", exact_numbers(controller_->state())},
                     {"history", exact_numbers(history)},
                     {"val_steps", json_array(val_steps_)},
                     {"last_train_stats", last_train_stats_},
                     {"model", "model_" + tag + ".pt"},
                     {"optimizer", "optim_" + tag + ".pt"}};
  write_file_atomic(fs::join(dir, "state.json"), pretty_json(state));
  for (const auto& f : fs::list_dir(dir))  // older checkpoints
    if ((f.rfind("model_", 0) == 0 || f.rfind("optim_", 0) == 0) && f != "model_" + tag + ".pt" && f != "optim_" + tag + ".pt")
      std::remove(fs::join(dir, f).c_str());
}

bool Run::load_checkpoint() {
  const std::string dir = fs::join(out_, "checkpoint"), path = fs::join(dir, "state.json");
  if (out_.empty() || !fs::exists(path)) return false;
  // a checkpoint that cannot be read (truncated or corrupt files) will never resume: say what to do about it
  const std::string fix = "; it cannot be resumed: remove " + dir + " to restart this run from step 0 (or restore "
                          "the file from a backup)";
  json::object s;
  try {
    s = read_json_file(path).as_object();
    (void)s.at("config").as_string(), (void)s.at("model").as_string(), (void)s.at("optimizer").as_string();
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + fix);
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable checkpoint state (" + e.what() + ")" + fix);
  }
  if (std::string(s.at("config").as_string()) != compact_json(resolved_))
    throw Error(path + ": the checkpoint belongs to a different config; resume with the same config or use a new --out");
  const std::string model_file = fs::join(dir, std::string(s.at("model").as_string()));
  const std::string optim_file = fs::join(dir, std::string(s.at("optimizer").as_string()));
  try {
    load_model(model_, model_file);
    optim_->load(optim_file);
  } catch (const Error& e) {  // the config matched (above), so this is a damaged file, not another config
    const std::string what = e.what();
    throw Error(what.substr(0, what.find(": ")) + ": this checkpoint file is unreadable (truncated or corrupt)" + fix);
  }
  const auto& l = s.at("loader").as_object();
  train_data_->set_position({l.at("epoch").to_number<int64_t>(), l.at("shard").to_number<size_t>(),
                             l.at("offset").to_number<size_t>()});
  controller_->load_state(restore_numbers(s.at("controller")).as_object());
  const auto h = restore_numbers(s.at("history")).as_object();
  train_loss_ = json_doubles(h.at("train_loss"));
  train_reg_ = json_doubles(h.at("train_reg"));
  train_lr_ = json_doubles(h.at("train_lr"));
  step_s_ = json_doubles(h.at("step_s"));
  val_loss_ = json_doubles(h.at("val_loss"));
  flops_standard_ = h.at("flops_standard").to_number<double>();
  flops_reference_ = h.at("flops_reference").to_number<double>();
  train_seconds_ = h.at("train_seconds").to_number<double>();
  val_seconds_ = h.at("val_seconds").to_number<double>();
  prior_elapsed_ = h.at("elapsed_s").to_number<double>();
  val_steps_ = json_ints(s.at("val_steps"));
  last_train_stats_ = s.at("last_train_stats").as_object();
  step_ = s.at("step").to_number<int64_t>();
  resumed_from_ = step_;
  return true;
}

// metrics.jsonl: a fresh run truncates it; a resumed one keeps the records up to its checkpoint (train records of
// the steps before it, validations at or before it) and drops any written after it by the interrupted process.
void Run::open_metrics(bool resumed) {
  if (out_.empty()) return;
  const std::string path = fs::join(out_, "metrics.jsonl");
  if (resumed) {
    std::ifstream in(path);
    std::string line, kept;
    while (std::getline(in, line)) {
      boost::system::error_code ec;
      auto v = json::parse(line, ec);
      if (!v.is_object()) continue;
      const auto st = v.as_object().at("step").to_number<int64_t>();
      const bool val = v.as_object().at("kind") == "val";
      if ((!val && st < step_) || (val && st <= step_)) kept += line + "\n";
    }
    write_file_atomic(path, kept);
  }
  metrics_ = std::make_unique<MetricsLog>(path, /*append=*/resumed);
}

}  // namespace skipbench::train_detail
