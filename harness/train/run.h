// run.h: the trainer's one Run object (internal to harness/train; the public entry point is train() in
// trainer.h). It holds everything a training run needs; the part marked "checkpointed" is what a checkpoint
// saves, so a resumed run continues bit-identically. Its member functions are split by concern:
//   trainer.cpp         set-up and validation, the training loop, one optimizer step, validation
//   run_checkpoint.cpp  save and resume (checkpoint/ and the metrics.jsonl of the steps before it)
//   run_record.cpp      the run.json document
#pragma once
#include <torch/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <optional>
#include <vector>

#include "harness/common/file_lock.h"
#include "harness/config/config.h"
#include "harness/data/loader.h"
#include "harness/metrics/run_report.h"
#include "harness/model/transformer.h"
#include "harness/registry/gate_controller.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/autocast.h"
#include "harness/train/budget.h"
#include "harness/train/distributed.h"
#include "harness/train/evaluate.h"
#include "harness/train/grad_buckets.h"
#include "harness/train/optimizer.h"
#include "harness/train/progress.h"
#include "harness/train/schedule.h"
#include "harness/train/trainer.h"

namespace skipbench::train_detail {

class Run {
 public:
  Run(const Config& cfg, const std::string& out_dir, const TrainOptions& opts);
  TrainResult go();

 private:
  Budget::Spent spent() const { return {step_, flops_standard_, train_seconds_}; }
  double elapsed() const;  // wall-clock seconds of the whole run, across resumes
  void train_step();
  void validate(bool final);
  void save_checkpoint();
  bool load_checkpoint();  // true when it resumed (from the latest checkpoint, else the previous one)
  void load_state_file(const std::string& path, const std::string& dir);
  void open_metrics(bool resumed);
  boost::json::object report();

  const Config& cfg_;
  const TrainConfig& tc_;
  const ModelConfig& mc_;
  std::string out_;
  TrainOptions opts_;
  const VariantSpec& vspec_;
  const ControllerSpec& cspec_;
  boost::json::object vopts_, copts_, resolved_;
  torch::Device dev_;
  Precision precision_;
  std::string sdpa_kernel_;  // the SDPA kernel LibTorch picks for this model's attention (report)
  std::unique_ptr<data::TokenLoader> train_data_, val_data_, val_labels_;
  Transformer model_{nullptr};
  std::vector<std::string> init_fresh_;  // train.init_from: parameters the source run lacked (kept at init)
  std::unique_ptr<GateController> controller_;
  std::unique_ptr<GroupedAdamW> optim_;
  std::unique_ptr<Budget> budget_;
  LrSchedule sched_{1};
  std::unique_ptr<MetricsLog> metrics_;
  std::unique_ptr<FileLock> lock_;  // DIR/train.lock for the whole run: one trainer per run directory
  // data parallel (torchrun): every rank trains its share of each global batch; gradients, losses and gate
  // statistics are summed over ranks each step; rank 0 alone writes (checkpoints, metrics, run.json, model.pt)
  DistEnv dist_;
  std::unique_ptr<ProcessGroup> pg_;
  // data parallel: the gradient all-reduce (grad_buckets.h), overlapped with the backward when
  // train.grad_bucket_mb > 0, else one bucket after it
  std::unique_ptr<GradBuckets> buckets_;
  bool writer_ = true;
  bool stop_requested_ = false;  // a stop signal reached some rank (all-reduced each step)
  Progress progress_{nullptr};
  int64_t accum_;
  double tokens_per_step_, dense_step_flops_;
  std::chrono::steady_clock::time_point t_start_;

  // ---- checkpointed ----
  int64_t step_ = 0;  // optimizer steps done
  std::vector<double> train_loss_, train_reg_, train_lr_, step_s_, val_loss_;
  std::optional<double> val_loss_full_compute_;  // the same with a policy's skip rule off (residual_gates)
  std::optional<double> val_loss_causal_;  // the latest validation with a policy's causal mode (mod), if it has one
  std::vector<int64_t> val_steps_;
  double flops_standard_ = 0, flops_reference_ = 0, train_seconds_ = 0, val_seconds_ = 0, prior_elapsed_ = 0;
  boost::json::object last_train_stats_;
  // (first step, world size) of each stretch of the run between resumes on another world size (run.json records it)
  std::vector<std::pair<int64_t, int64_t>> world_segments_;
  // ---- not checkpointed ----
  EvalResult last_val_;
  std::string status_ = "completed", failure_;
  int64_t resumed_from_ = -1;
  int64_t first_step_ = 0;  // the first step of this invocation (queue_guard skips it: lazy initialisation)
};

}  // namespace skipbench::train_detail
