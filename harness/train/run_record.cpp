// run_record.cpp: the run.json document of a Run (run.h; the schema is in harness/metrics/run_report.h): config
// (fully resolved), provenance, data (globs, sizes, checksums), curves, gate metrics, FLOPs, timing and MFU.
#include <torch/torch.h>

#include <boost/json.hpp>

#include "harness/common/hash.h"
#include "harness/common/host_memory.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/model/flops.h"
#include "harness/model/fused_cpu.h"
#include "harness/train/run.h"
#include "profiling/device_memory.h"
#include "profiling/device_peaks.h"
#include "profiling/step_timer.h"

namespace skipbench::train_detail {
namespace json = boost::json;

namespace {
json::object data_record(const std::string& glob, const data::TokenLoader& d, const char* windows_key) {
  return {{"glob", glob},
          {"files", static_cast<int64_t>(d.files().size())},
          {"tokens", d.total_tokens()},
          {windows_key, d.windows_per_epoch()},
          {"fnv1a64", hex64(d.checksum())}};  // the tokens themselves: which data, whatever the paths
}
}  // namespace

json::object Run::report() {
  int64_t n_params = 0;
  json::object by_group;
  {
    auto g = param_groups(*model_);
    auto count = [](const auto& v) {
      int64_t n = 0;
      for (const auto& p : v) n += p.second.numel();
      return n;
    };
    by_group = {{"default", count(g.default_group)}, {"norms", count(g.norms)}, {"masks", count(g.masks)}};
    n_params = count(g.default_group) + count(g.norms) + count(g.masks);
    int64_t trainable = 0;
    for (const auto& p : model_->parameters()) trainable += p.requires_grad() ? p.numel() : 0;
    by_group["trainable"] = trainable;  // all but the frozen ones (train.freeze)
  }
  // the policy's own modules the estimator does not see (MoD's routers and predictors), as a component of its own
  const double policy = vspec_.policy_flops ? vspec_.policy_flops(mc_, vopts_) : 0.0;
  auto with_policy = [&](FlopsEstimate e) { return with_policy_flops(std::move(e), policy); };
  json::array steps_axis;
  for (size_t i = 0; i < train_loss_.size(); ++i) steps_axis.push_back(static_cast<int64_t>(i + 1));
  const auto zf_val = last_val_.stats.zero_fraction();
  auto timing = step_time_summary(step_s_, tokens_per_step_);  // step_s_ survives resumes, a StepTimer would not
  timing["train_s"] = train_seconds_;
  timing["validation_s"] = val_seconds_;
  timing["total_s"] = elapsed();
  timing["peak_host_memory_bytes"] = peak_host_memory_bytes();
  timing["device"] = dev_.str();
  // MFU on a known GPU: the model FLOPs a step requires (standard convention, every block computed: soft gates
  // skip nothing in training) per token, times tokens/s at the median step, over the dense bf16 peak
  json::value mfu = nullptr;
  if (dev_.is_cuda()) {
    const auto gpus = gpu_info();
    const size_t idx = dev_.has_index() ? static_cast<size_t>(dev_.index()) : 0;
    const auto peak = idx < gpus.size() ? bf16_peak_for(gpus[idx].name) : std::nullopt;
    const double fpt = dense_step_flops_ / tokens_per_step_, tps = timing["tokens_per_s"].to_number<double>();
    mfu = json::object{{"mfu", peak ? json::value(fpt * tps / peak->bf16_flops) : json::value(nullptr)},
                       {"flops_per_token", fpt},
                       {"tokens_per_s", tps},
                       {"peak_flops", peak ? json::value(peak->bf16_flops) : json::value(nullptr)},
                       {"peak_entry", peak ? json::value(peak->entry) : json::value("unknown device: no peak")},
                       {"definition", "standard training FLOPs per token x tokens/s (median step) / dense bf16 peak"}};
  }
  timing["mfu"] = mfu;
  const auto peak_dev = peak_device_memory_bytes(dev_);
  timing["peak_device_memory_bytes"] = peak_dev ? json::value(*peak_dev) : json::value(nullptr);  // null on CPU
  json::object budget{{"kind", tc_.budget_kind},
                      {"value", budget_->value},
                      {"steps", step_},
                      {"tokens", tokens_per_step_ * double(step_)},
                      {"train_flops_standard", flops_standard_},
                      {"train_seconds", train_seconds_},
                      {"schedule_steps", sched_.steps}};
  json::object data{{"train", data_record(cfg_.data.train, *train_data_, "windows_per_epoch")},
                    {"val", data_record(cfg_.data.val, *val_data_, "windows")}};
  if (val_labels_) data["val_labels"] = data_record(cfg_.data.val_labels, *val_labels_, "windows");
  json::object report{
      {"schema", kRunSchema},
      {"schema_version", kRunSchemaVersion},
      {"status", status_},
      {"config", resolved_},
      {"config_source", cfg_.source},
      {"seed", tc_.seed},
      {"variant", json::object{{"name", vspec_.name}, {"options", vopts_}, {"gated", vspec_.gated}}},
      {"controller", json::object{{"name", cspec_.name}, {"options", copts_}, {"final_state", controller_->state()}}},
      {"provenance", provenance()},
      {"data", data},
      {"model", json::object{{"parameters", n_params}, {"parameters_by_group", by_group},
                             {"init_from", tc_.init_from.empty() ? json::value(nullptr) : json::value(tc_.init_from)},
                             {"initialised_fresh", [&] { json::array a; for (const auto& n : init_fresh_) a.push_back(json::value(n)); return a; }()},
                             {"freeze", tc_.freeze}}},
      {"tokens_per_step", tokens_per_step_},
      {"distributed", json::object{{"world_size", dist_.world}, {"backend", dist_.backend},
                                   {"micro_batches_per_rank", accum_},
                                   {"segments", [&] {  // resumed on another world size: where each stretch began
                                      json::array a;
                                      for (const auto& [from, w] : world_segments_)
                                        a.push_back(json::object{{"from_step", from}, {"world_size", w}});
                                      return a;
                                    }()},
                                   {"sequences_per_rank_per_step", accum_ * tc_.micro_batch_size},
                                   {"gradient_all_reduce",
                                    tc_.grad_bucket_mb > 0 && buckets_ ? json::object{{"mode", "buckets started during the backward"},
                                                            {"bucket_mb", tc_.grad_bucket_mb},
                                                            {"buckets", buckets_->size()},
                                                            {"started_in_backward_last_step",
                                                             buckets_->started_in_backward()}}
                                             : json::object{{"mode", dist_.active() ? "one flat buffer after the "
                                                                                      "backward" : "none"}}},
                                   {"reduced", "gradients (mean), train losses, gate statistics; validation "
                                               "batches dealt over the ranks, their sums all-reduced; rank 0 "
                                               "writes"}}},
      {"accumulation_steps", accum_},
      {"budget", budget},
      {"resumed_from_step", resumed_from_ >= 0 ? json::value(resumed_from_) : json::value(nullptr)},
      {"train_curve", json::object{{"step", steps_axis}, {"loss", json_array(train_loss_)},
                                   {"lr", json_array(train_lr_)}, {"reg_loss", json_array(train_reg_)}}},
      {"val_curve", json::object{{"step", json_array(val_steps_)}, {"loss", json_array(val_loss_)}}},
      {"final", json::object{{"train_loss", train_loss_.empty() ? 0.0 : train_loss_.back()},
                             {"val_loss", val_loss_.empty() ? json::value(nullptr) : json::value(val_loss_.back())},
                             {"steps", step_},
                             {"tokens_seen", tokens_per_step_ * double(step_)}}},
      {"gates", json::object{{"val", last_val_.stats.to_json()}, {"train_last_step", last_train_stats_}}},
      {"which_tokens_skip", last_val_.token_analysis},
      {"flops", json::object{
                    {"inference_at_val_sparsity",
                     json::object{{"reference", with_policy(estimate_flops(mc_, vspec_.gated, zf_val, FlopsMode::reference)).to_json()},
                                  {"standard", with_policy(estimate_flops(mc_, vspec_.gated, zf_val, FlopsMode::standard)).to_json()}}},
                    {"training_total", json::object{{"standard", flops_standard_},
                                                    {"reference_forward_only", flops_reference_}}}}},
      {"timing", timing},
      {"execution", json::object{{"device", dev_.str()},
                                 {"precision", to_string(precision_)},
                                 {"optimizer_impl", to_string(optim_->impl())},
                                 {"attention_impl", mc_.attention_impl},
                                 {"sdpa_backend", tc_.sdpa_backend},
                                 {"sdpa_kernel", sdpa_kernel_},
                                 {"host_allocator", host_allocator_mode()},
                                 {"fused_cpu_kernels", dev_.is_cpu() && fused::enabled() && precision_ == Precision::fp32}}},
  };
  if (!failure_.empty()) report["failure"] = failure_;
  if (val_loss_causal_) report["final"].as_object()["val_loss_causal"] = *val_loss_causal_;  // mod: causal routing
  if (val_loss_full_compute_) report["final"].as_object()["val_loss_full_compute"] = *val_loss_full_compute_;
  return report;
}

}  // namespace skipbench::train_detail
