// trainer.cpp: see trainer.h; the Run object is declared in run.h. This file is the training loop, top to bottom:
// set-up (everything validated before any output exists), go() (resume, steps, validation, checkpoints, the final
// files), and one optimizer step. Checkpoints are in run_checkpoint.cpp, the run.json document in run_record.cpp.
#include "harness/train/trainer.h"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/model/attention.h"
#include "harness/common/provenance.h"
#include "harness/model/flops.h"
#include "harness/model/memory.h"
#include "harness/train/checkpoint.h"
#include "harness/train/gate_stats.h"
#include "harness/train/run.h"
#include "profiling/device_memory.h"
#include "profiling/ranges.h"
#include "profiling/step_timer.h"

namespace skipbench {
namespace json = boost::json;

namespace train_detail {

namespace {
torch::Device pick_device(const std::string& d) {
  if (d == "cpu") return torch::kCPU;
  const bool have = torch::cuda::is_available();
  if (d == "cuda" && !have) throw Error("train.device: \"cuda\" requested but no CUDA device is available (use cpu or auto)");
  return have ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

// The config with every default made explicit (plugin options, inherited optimizer groups), so a report repeats
// its run even if defaults change later.
json::object fully_resolved(const Config& cfg, const json::object& vopts, const json::object& copts) {
  json::object c = cfg.resolved;
  c["variant"].as_object()["options"] = vopts;
  auto& t = c["train"].as_object();
  t["controller"].as_object()["options"] = copts;
  auto& o = t["optimizer"].as_object();
  o["norms"] = to_json(cfg.train.norms_group);
  o["masks"] = to_json(cfg.train.masks_group);
  return c;
}
}  // namespace

Run::Run(const Config& cfg, const std::string& out_dir, const TrainOptions& opts)
    : cfg_(cfg),
      tc_(cfg.train),
      mc_(cfg.model),
      out_(out_dir),
      opts_(opts),
      vspec_(VariantRegistry::instance().get(cfg.variant.name)),
      cspec_(ControllerRegistry::instance().get(cfg.train.controller.name)),
      dev_(torch::kCPU),
      precision_(parse_precision(cfg.train.precision)),
      progress_(opts.progress),
      last_val_(cfg.model.n_layers, cfg.train.zero_eps) {
  // ---- validate everything before any output exists ----
  vopts_ = resolve_options(vspec_.name, vspec_.options, cfg.variant.options, "variant.options");
  copts_ = resolve_options(cspec_.name, cspec_.options, tc_.controller.options, "train.controller.options");
  resolved_ = fully_resolved(cfg, vopts_, copts_);
  dev_ = pick_device(tc_.device);
  dist_ = read_dist_env();  // torchrun's environment, or one process
  writer_ = dist_.rank == 0;
  if (!writer_) progress_ = Progress(nullptr);  // rank 0 speaks for all
  if (dist_.active() && tc_.budget_kind == "wall_clock")  // each rank's clock would decide its own last step
    throw Error("train.budget.kind: wall_clock is not supported with several ranks (their clocks would stop them at "
                "different steps); use tokens, steps or flops");
  if (dist_.active() && tc_.batch_size % (tc_.micro_batch_size * dist_.world) != 0)
    throw Error("train.batch_size: " + std::to_string(tc_.batch_size) + " is not a multiple of train.micro_batch_size (" +
                std::to_string(tc_.micro_batch_size) + ") x the world size (" + std::to_string(dist_.world) +
                "): every rank needs the same number of whole micro-batches of each global batch");
  train_data_ = std::make_unique<data::TokenLoader>(cfg.data.train, "data.train", mc_.vocab_size,
                                                    tc_.micro_batch_size, mc_.max_seq_len, dist_.rank, dist_.world);
  val_data_ = std::make_unique<data::TokenLoader>(cfg.data.val, "data.val", mc_.vocab_size, tc_.micro_batch_size,
                                                  mc_.max_seq_len);
  if (!cfg.data.val_labels.empty())
    val_labels_ = std::make_unique<data::TokenLoader>(cfg.data.val_labels, "data.val_labels", 65536,
                                                      tc_.micro_batch_size, mc_.max_seq_len);
  if (val_labels_ && (val_labels_->total_tokens() != val_data_->total_tokens() ||
                      val_labels_->files().size() != val_data_->files().size()))
    throw Error("data.val_labels: " + std::to_string(val_labels_->total_tokens()) + " labels for " +
                std::to_string(val_data_->total_tokens()) + " validation tokens (data.val); labels must align with the "
                "validation data token for token, file for file");
  if (!out_.empty() && fs::exists(fs::join(out_, "run.json")))
    throw Error(fs::join(out_, "run.json") + ": this directory already holds a finished run; choose another --out");

  if (dev_.is_cuda()) {  // page-locked windows: non-blocking host-to-device copies
    train_data_->pin_memory(true);
    val_data_->pin_memory(true);
  }
  set_sdpa_backend(tc_.sdpa_backend);
  if (tc_.threads > 0) torch::set_num_threads(static_cast<int>(tc_.threads));
  // an impossible shape is refused from its estimate, before anything is allocated (harness/model/memory.h)
  if (dev_.is_cpu() && host_memory_bytes() > 0)
    require_memory_fits(mc_, tc_.micro_batch_size, host_memory_bytes(), "model");
  torch::manual_seed(tc_.seed);
  model_ = vspec_.build(mc_, vopts_);  // throws Error for configs the variant refuses (odd L, ...)
  model_->skip_compute = model_->skip_compute || tc_.skip_compute;  // a variant may always skip for real (mod)
  if (!tc_.init_from.empty()) init_fresh_ = init_from_run(model_, tc_.init_from);
  if (tc_.freeze == "all_but_masks") {  // gates over a frozen model: only the policy's parameters train
    if (!model_->gates || model_->gates->parameters().empty())
      throw Error("train.freeze: all_but_masks leaves nothing to train for variant " + vspec_.name +
                  " (it has no gate parameters)");
    for (auto& item : model_->named_parameters(/*recurse=*/true))
      if (item.key().rfind("gates.", 0) != 0) item.value().set_requires_grad(false);
  }
  model_->to(dev_);
  if (dist_.active()) {  // join the group (every rank), then start from rank 0's weights
    pg_ = std::make_unique<ProcessGroup>(dist_);
    torch::NoGradGuard ng;
    std::vector<torch::Tensor> ps;
    for (auto& p : model_->parameters()) ps.push_back(p);
    for (auto& b : model_->buffers()) ps.push_back(b);
    std::vector<torch::Tensor> parts;
    for (auto& p : ps) parts.push_back(p.detach().reshape({-1}).to(torch::kFloat64));
    auto flat = torch::cat(parts);
    pg_->broadcast(flat, "the initial weights' broadcast");
    int64_t at = 0;
    for (auto& p : ps) {
      p.copy_(flat.slice(0, at, at + p.numel()).view_as(p));
      at += p.numel();
    }
  }
  if (pg_) {  // after the freeze: only what trains is reduced
    // train.grad_bucket_mb > 0: buckets of that size started during the backward; 0: one bucket holding every
    // gradient, all-reduced once after the backward (the same code, with no hooks: never armed while the backward
    // runs)
    std::vector<torch::Tensor> ps;
    for (auto& p : model_->parameters()) ps.push_back(p);
    const int64_t bytes = tc_.grad_bucket_mb > 0 ? static_cast<int64_t>(tc_.grad_bucket_mb * 1024 * 1024)
                                                 : std::numeric_limits<int64_t>::max();
    buckets_ = std::make_unique<GradBuckets>(ps, bytes, *pg_, /*overlap=*/tc_.grad_bucket_mb > 0);
  }
  model_->train();
  controller_ = cspec_.build(mc_.n_layers, copts_);
  optim_ = std::make_unique<GroupedAdamW>(*model_, tc_);
  sdpa_kernel_ = sdpa_kernel_choice(parse_attention_kernel(mc_.attention_impl), mc_.n_heads, mc_.head_dim(),
                                    mc_.max_seq_len, vspec_.gated, dev_,
                                    precision_ == Precision::bf16 && dev_.is_cuda() ? torch::kBFloat16 : torch::kFloat32);
  reset_peak_device_memory(dev_);

  accum_ = tc_.accumulation_steps() / dist_.world;  // this rank's micro-batches of each global batch
  tokens_per_step_ = static_cast<double>(tc_.batch_size * mc_.max_seq_len);
  dense_step_flops_ = estimate_flops(mc_, vspec_.gated, {}, FlopsMode::standard).training_per_token * tokens_per_step_;
  budget_ = std::make_unique<Budget>(tc_, tokens_per_step_, dense_step_flops_);
  sched_ = LrSchedule{budget_->nominal_steps, tc_.warmup_frac, tc_.warmup_start_factor};
}

double Run::elapsed() const {
  return prior_elapsed_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
}

TrainResult Run::go() {
  t_start_ = std::chrono::steady_clock::now();
  if (!out_.empty() && writer_) {
    fs::make_dirs(out_);
    lock_ = std::make_unique<FileLock>(fs::join(out_, "train.lock"),
                                       "is training in " + out_ + "; wait for it to finish or choose another --out");
    if (fs::exists(fs::join(out_, "run.json")))  // finished while this process was starting
      throw Error(fs::join(out_, "run.json") + ": this directory already holds a finished run; choose another --out");
  }
  const bool resumed = load_checkpoint();
  first_step_ = step_;
  if (world_segments_.empty() || world_segments_.back().second != dist_.world) world_segments_.emplace_back(step_, dist_.world);
  if (writer_) open_metrics(resumed);
  std::ostringstream head;
  head << "skipbench train: " << vspec_.name << " (" << cspec_.name << " controller), " << mc_.n_layers
       << " layers, " << tc_.budget_kind << " budget " << budget_->value << ", " << tc_.batch_size << " x "
       << mc_.max_seq_len << " tokens per step on " << dev_.str() << (out_.empty() ? "" : " -> " + out_)
       << (resumed ? " (resuming after step " + std::to_string(step_) + ")" : "");
  progress_.line(head.str());

  int64_t this_invocation = 0;
  while (!budget_->done(spent())) {
    train_step();
    if (status_ != "completed") break;
    ++this_invocation;
    const bool last = budget_->done(spent());
    if (tc_.val_every > 0 && step_ % tc_.val_every == 0 && !last) validate(false);
    if (writer_ && !out_.empty() && tc_.checkpoint_every > 0 && step_ % tc_.checkpoint_every == 0 && !last)
      save_checkpoint();
    if (stop_requested_ && !last) {  // a signal (to any rank): checkpoint this step, stop, resume later
      if (writer_ && !out_.empty() && !(tc_.checkpoint_every > 0 && step_ % tc_.checkpoint_every == 0))
        save_checkpoint();
      TrainResult r;
      r.status = "stopped";
      r.train_loss = train_loss_;
      return r;
    }
    if (opts_.stop_after_steps > 0 && this_invocation >= opts_.stop_after_steps && !last) {
      TrainResult r;  // as if killed: whatever the last checkpoint holds is what a resume starts from
      r.status = "interrupted";
      r.train_loss = train_loss_;
      return r;
    }
  }
  if (status_ == "completed" && !opts_.skip_final_validation) validate(true);

  TrainResult r;
  r.status = status_;
  r.train_loss = train_loss_;
  r.val_steps = val_steps_;
  r.val_loss = val_loss_;
  r.report = report();
  if (!out_.empty() && writer_) {
    save_model(model_, fs::join(out_, "model.pt"));  // before run.json: a report always has its weights beside it
    r.report_path = write_run_report(out_, r.report);
    fs::remove_tree(fs::join(out_, "checkpoint"));
  }
  return r;
}

// One optimizer step. Nothing in the micro-batch loop reads a device value: losses and gate statistics
// accumulate on the device, and the step reads them once, after the last backward (the divergence check and the
// controller need them before the update). A dense model has no gates, so no controller term at all.
void Run::train_step() {
  StepTimer timer;
  timer.start();
  prof::Range step_range("step");
  std::shared_ptr<void> queue_guard = step_ > first_step_ && opts_.queue_guard ? opts_.queue_guard() : nullptr;
  // residual-stream norms are a metric only: computed on the steps whose record is logged (every log_every)
  model_->record_residual_norms = step_ % tc_.log_every == 0;
  GateStatsAccumulator stats(mc_.n_layers, tc_.zero_eps);
  const bool overlap = buckets_ && tc_.grad_bucket_mb > 0;  // data parallel: buckets start during the backward
  torch::Tensor ce_acc, reg_acc, exit_acc;  // fp64 sums on the device
  for (int64_t m = 0; m < accum_; ++m) {
    data::Batch b;
    {
      prof::Range r("data");
      b = data::to_device(train_data_->next(), dev_);
    }
    ForwardOutput out;
    torch::Tensor ce, reg, objective, exit_ce;
    // a stochastic policy's draw (LayerDrop): the micro-batch's index in the global batch (rank r's j-th micro-batch
    // reads the round's window j * world + r), so several ranks draw what one process would
    if (model_->gates) model_->gates->draw = (step_ * accum_ + m) * dist_.world + dist_.rank;
    {
      prof::Range r("forward");
      AutocastScope autocast(precision_, dev_.type());  // closes (and clears the weight cache) before backward
      out = model_->forward(b.inputs);
      auto cross_entropy = [&](const torch::Tensor& logits) {
        return torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32),
                                                    b.targets.reshape({-1}));
      };
      ce = cross_entropy(out.logits);
      objective = ce;
      if (!out.exit_logits.empty()) {  // early exits: LayerSkip's weighted sum; the recorded loss stays the final CE
        const auto& w = model_->exit_weights;
        objective = ce * w.back();
        double exit_w = 0;
        for (size_t i = 0; i < out.exit_logits.size(); ++i) {
          auto ce_i = cross_entropy(out.exit_logits[i]);
          objective = objective + ce_i * w[i];
          exit_ce = exit_ce.defined() ? exit_ce + ce_i.detach() * w[i] : ce_i.detach() * w[i];
          exit_w += w[i];
        }
        exit_ce = exit_w > 0 ? exit_ce / exit_w : exit_ce;  // the exits' weighted mean CE, a metric
      }
      for (const auto& a : out.aux_losses) objective = objective + a;  // a policy's own losses (MoD's predictor)
      // the controller steers learned gates only; a stochastic policy's gates (LayerDrop) are not its to steer
      if (vspec_.gated && !out.gates.empty()) reg = controller_->loss(out.gates);
    }
    {
      prof::Range r("backward");
      prof::AdoptOtherThreads adopt;  // GPU: autograd's device thread opens the per-block backward ranges
      if (overlap && m == accum_ - 1) buckets_->arm();  // the final gradients: their buckets start as they finish
      ((reg.defined() ? objective + reg : objective) / static_cast<double>(accum_)).backward();
    }
    prof::Range r("metrics");
    auto c = ce.detach().to(torch::kFloat64);
    ce_acc = ce_acc.defined() ? ce_acc + c : c;
    if (exit_ce.defined()) {
      auto e = exit_ce.to(torch::kFloat64);
      exit_acc = exit_acc.defined() ? exit_acc + e : e;
    }
    if (reg.defined()) {
      auto g = reg.detach().to(torch::kFloat64);
      reg_acc = reg_acc.defined() ? reg_acc + g : g;
    }
    stats.add(out);
  }
  if (pg_) {
    prof::Range r("all_reduce");
    if (!overlap) buckets_->arm();  // flat: the one bucket, started now
    buckets_->finish();             // the buckets the backward left, then every one waited for
    stats.all_reduce([&](torch::Tensor& t) { pg_->all_reduce_sum(t, "the gate statistics' all-reduce"); });
  }
  {
    prof::Range r("optimizer");
    if (vspec_.gated && stats.gated()) {  // from device statistics: queued, not read
      auto [mean, var] = stats.gate_mean_var_device();
      controller_->update({mean, var});
    }
    optim_->step(sched_.factor(budget_->schedule_position(spent())));
    optim_->zero_grad();
  }
  queue_guard.reset();  // everything of this step is queued; now its one read
  double ce_sum = 0, reg_sum = 0, exit_sum = 0;
  {
    prof::Range r("metrics");
    auto zero = torch::zeros_like(ce_acc);
    const double stop_here = opts_.stop_flag && *opts_.stop_flag ? 1.0 : 0.0;
    auto host = torch::stack({ce_acc, reg_acc.defined() ? reg_acc : zero, exit_acc.defined() ? exit_acc : zero,
                              zero + stop_here})
                    .cpu();  // the one wait
    if (pg_) pg_->all_reduce_sum(host, "the step's losses' all-reduce");  // sums over ranks; a stop on any rank
    ce_sum = host[0].item<double>() / dist_.world;
    reg_sum = host[1].item<double>() / dist_.world;
    exit_sum = host[2].item<double>() / dist_.world;
    stop_requested_ = host[3].item<double>() > 0;
  }
  const double ce_mean = ce_sum / static_cast<double>(accum_);
  // Divergence is seen after this step's update was queued (checking before it would make the host wait for the
  // device mid-step): a diverged run's weights include its non-finite step. Its loss is not recorded.
  if (!std::isfinite(ce_mean)) {
    status_ = "diverged";
    failure_ = "loss became " + std::to_string(ce_mean) + " at step " + std::to_string(step_);
    return;
  }
  const double dt = timer.stop();
  if (opts_.on_step) opts_.on_step(step_, dt);
  const auto zf = stats.zero_fraction();
  flops_standard_ += estimate_flops(mc_, vspec_.gated, zf, FlopsMode::standard).training_per_token * tokens_per_step_;
  flops_reference_ += estimate_flops(mc_, vspec_.gated, zf, FlopsMode::reference).forward_per_sequence *
                      static_cast<double>(tc_.batch_size);
  if (!model_->exit_layers.empty()) {  // the early-exit heads (layerdrop): one shared norm and head each
    const auto n = static_cast<int64_t>(model_->exit_layers.size());
    flops_standard_ += exit_heads_flops_per_token(mc_, n, FlopsMode::standard) * tokens_per_step_;
    flops_reference_ += exit_heads_flops_per_token(mc_, n, FlopsMode::reference) * tokens_per_step_;
  }
  if (vspec_.policy_flops) {  // the policy's own modules (MoD's routers and predictors): forward, + backward
    const double f = vspec_.policy_flops(mc_, vopts_);
    flops_standard_ += 3.0 * f * tokens_per_step_;
    flops_reference_ += f * tokens_per_step_;
  }
  train_seconds_ += dt;
  train_loss_.push_back(ce_mean);
  train_reg_.push_back(reg_sum / static_cast<double>(accum_));
  train_lr_.push_back(optim_->group_lr(0));
  step_s_.push_back(dt);
  last_train_stats_ = stats.to_json();
  if (metrics_) {
    json::object rec{{"kind", "train"}, {"step", step_},         {"loss", ce_mean},
                     {"reg_loss", train_reg_.back()}, {"lr", train_lr_.back()}, {"step_s", dt},
                     {"tokens", tokens_per_step_ * double(step_ + 1)}, {"train_flops", flops_standard_}};
    if (stats.gated()) rec["gates"] = last_train_stats_;
    if (exit_acc.defined()) rec["exit_loss"] = exit_sum / static_cast<double>(accum_);
    auto cs = controller_->state();
    if (!cs.empty()) rec["controller"] = cs;
    metrics_->write(rec);
  }
  ++step_;
  if ((step_ - 1) % tc_.log_every == 0 || budget_->done(spent()))
    progress_.step(step_, budget_->progress(spent()), tc_.budget_kind, ce_mean, train_lr_.back(),
                   tokens_per_step_ / dt, elapsed());
}

void Run::validate(bool final) {
  prof::Range range("evaluation");
  const auto t0 = std::chrono::steady_clock::now();
  EvalOptions eo;
  eo.max_batches = tc_.val_max_batches;
  eo.token_analysis = final;  // which tokens skip: on the final validation
  eo.labels = val_labels_.get();
  eo.group = pg_.get();  // data parallel: the split's batches dealt over the ranks, the sums all-reduced
  model_->record_residual_norms = true;
  last_val_ = evaluate(model_, *val_data_, cfg_, dev_, eo);
  val_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  val_steps_.push_back(step_);
  val_loss_.push_back(last_val_.loss);
  json::object rec{{"kind", "val"}, {"step", step_}, {"val_loss", last_val_.loss}, {"ranks", last_val_.ranks},
                   {"gates", last_val_.stats.to_json()}};
  if (final && !last_val_.token_analysis.empty()) rec["which_tokens_skip"] = last_val_.token_analysis;
  // A second validation with one of the policy's switches set (and cleared after, also on an exception).
  auto validate_with = [&](bool GatePolicy::*flag) {
    EvalOptions alt;
    alt.max_batches = tc_.val_max_batches;
    alt.group = pg_.get();
    model_->gates.get()->*flag = true;
    try {
      auto r = evaluate(model_, *val_data_, cfg_, dev_, alt);
      model_->gates.get()->*flag = false;
      return r;
    } catch (...) {
      model_->gates.get()->*flag = false;
      throw;
    }
  };
  if (model_->gates && model_->gates->has_causal_mode()) {
    // routers that choose from the whole sequence (MoD's top-k) see the future: also validate with each token
    // deciding alone (the causal predictor), the way the model would run autoregressively
    const auto rc = validate_with(&GatePolicy::causal);
    val_loss_causal_ = rc.loss;
    rec["val_loss_causal"] = rc.loss;
    rec["gates_causal"] = rc.stats.to_json();
  }
  if (model_->gates && model_->gates->has_skip_rule()) {
    // an evaluation-time skip rule (residual_gates): val_loss is with the rule (what the skipping model scores);
    // also validate with every branch computed, the quality the rule gives up
    const auto rf = validate_with(&GatePolicy::full_compute);
    val_loss_full_compute_ = rf.loss;
    rec["val_loss_full_compute"] = rf.loss;
  }
  if (metrics_) metrics_->write(rec);
  progress_.validation(step_, last_val_.loss);
}

}  // namespace train_detail

TrainResult train(const Config& cfg, const std::string& out_dir, const TrainOptions& opts) {
  train_detail::Run run(cfg, out_dir, opts);
  return run.go();
}

}  // namespace skipbench
