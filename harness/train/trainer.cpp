// trainer.cpp: see trainer.h. One Run object holds everything a training run needs; its state (step, curves,
// budget consumed, controller, data position, model and optimizer) is what a checkpoint saves.
#include "harness/train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/data/loader.h"
#include "harness/model/attention.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/autocast.h"
#include "harness/train/checkpoint.h"
#include "harness/train/evaluate.h"
#include "harness/train/gate_controller.h"
#include "harness/train/gate_stats.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "profiling/device_memory.h"
#include "profiling/device_peaks.h"
#include "profiling/flops.h"
#include "profiling/ranges.h"
#include "profiling/step_timer.h"
#include "reports/run_report.h"

namespace skipbench {
namespace json = boost::json;

namespace {

json::array arr(const std::vector<double>& v) {
  json::array a;
  for (double x : v) a.push_back(x);
  return a;
}
template <typename T>
std::vector<T> vec(const json::value& v) {
  std::vector<T> out;
  for (const auto& e : v.as_array()) out.push_back(e.to_number<T>());
  return out;
}

torch::Device pick_device(const std::string& d) {
  if (d == "cpu") return torch::kCPU;
  const bool have = torch::cuda::is_available();
  if (d == "cuda" && !have) throw Error("train.device: \"cuda\" requested but no CUDA device is available (use cpu or auto)");
  return have ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

std::string fmt_duration(double s) {
  const int64_t t = static_cast<int64_t>(std::llround(std::max(0.0, s)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", static_cast<long>(t / 60), static_cast<long>(t % 60));
  return buf;
}

json::object group_json(const OptimGroup& g) {
  return {{"lr", g.lr}, {"betas", json::array{g.beta1, g.beta2}}, {"eps", g.eps}, {"weight_decay", g.weight_decay}};
}

// The config with every default made explicit (plugin options, inherited optimizer groups), so a report repeats
// its run even if defaults change later.
json::object fully_resolved(const Config& cfg, const json::object& vopts, const json::object& copts) {
  json::object c = cfg.resolved;
  c["variant"].as_object()["options"] = vopts;
  auto& t = c["train"].as_object();
  t["controller"].as_object()["options"] = copts;
  auto& o = t["optimizer"].as_object();
  o["norms"] = group_json(cfg.train.norms_group);
  o["masks"] = group_json(cfg.train.masks_group);
  return c;
}

class Run {
 public:
  Run(const Config& cfg, const std::string& out_dir, const TrainOptions& opts);
  TrainResult go();

 private:
  bool budget_done() const;
  double progress() const;  // fraction of the budget consumed, in [0, 1]
  void train_step();
  void validate(bool final);
  void save_checkpoint();
  bool load_checkpoint();  // true when it resumed
  json::object report();

  const Config& cfg_;
  const TrainConfig& tc_;
  const ModelConfig& mc_;
  std::string out_;
  TrainOptions opts_;
  const VariantSpec& vspec_;
  const ControllerSpec& cspec_;
  json::object vopts_, copts_, resolved_;
  torch::Device dev_;
  Precision precision_;
  std::string sdpa_kernel_;  // the SDPA kernel LibTorch picks for this model's attention (report)
  std::unique_ptr<data::TokenLoader> train_data_, val_data_, val_labels_;
  Transformer model_{nullptr};
  std::unique_ptr<GateController> controller_;
  std::unique_ptr<GroupedAdamW> optim_;
  LrSchedule sched_{1};
  std::unique_ptr<MetricsLog> metrics_;
  int64_t accum_;
  double tokens_per_step_, dense_step_flops_;
  int64_t max_steps_;  // hard cap (flops / wall-clock budgets)
  bool tty_ = false;
  std::chrono::steady_clock::time_point t_start_;

  // ---- the state a checkpoint holds ----
  int64_t step_ = 0;  // optimizer steps done
  std::vector<double> train_loss_, train_reg_, train_lr_, step_s_, val_loss_;
  std::vector<int64_t> val_steps_;
  double flops_standard_ = 0, flops_reference_ = 0, train_seconds_ = 0, val_seconds_ = 0, prior_elapsed_ = 0;
  json::object last_train_stats_;
  // ---- not checkpointed ----
  EvalResult last_val_;
  std::string status_ = "completed", failure_;
  int64_t resumed_from_ = -1;
};

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
      last_val_(cfg.model.n_layers, cfg.train.zero_eps) {
  // ---- validate everything before any output exists ----
  vopts_ = resolve_options(vspec_.name, vspec_.options, cfg.variant.options, "variant.options");
  copts_ = resolve_options(cspec_.name, cspec_.options, tc_.controller.options, "train.controller.options");
  resolved_ = fully_resolved(cfg, vopts_, copts_);
  dev_ = pick_device(tc_.device);
  train_data_ = std::make_unique<data::TokenLoader>(cfg.data.train, "data.train", mc_.vocab_size,
                                                    tc_.micro_batch_size, mc_.max_seq_len);
  val_data_ = std::make_unique<data::TokenLoader>(cfg.data.val, "data.val", mc_.vocab_size, tc_.micro_batch_size,
                                                  mc_.max_seq_len);
  if (!cfg.data.val_labels.empty())
    val_labels_ = std::make_unique<data::TokenLoader>(cfg.data.val_labels, "data.val_labels", 65536,
                                                      tc_.micro_batch_size, mc_.max_seq_len);
  if (!out_.empty() && fs::exists(fs::join(out_, "run.json")))
    throw Error(fs::join(out_, "run.json") + ": this directory already holds a finished run; choose another --out");

  if (dev_.is_cuda()) {  // page-locked windows: non-blocking host-to-device copies
    train_data_->pin_memory(true);
    val_data_->pin_memory(true);
  }
  set_sdpa_backend(tc_.sdpa_backend);
  if (tc_.threads > 0) torch::set_num_threads(static_cast<int>(tc_.threads));
  torch::manual_seed(tc_.seed);
  model_ = vspec_.build(mc_, vopts_);  // throws Error for configs the variant refuses (odd L, ...)
  model_->to(dev_);
  model_->train();
  controller_ = cspec_.build(mc_.n_layers, copts_);
  optim_ = std::make_unique<GroupedAdamW>(*model_, tc_);
  sdpa_kernel_ = sdpa_kernel_choice(parse_attention_kernel(mc_.attention_impl), mc_.n_heads, mc_.head_dim(),
                                    mc_.max_seq_len, vspec_.gated, dev_,
                                    precision_ == Precision::bf16 && dev_.is_cuda() ? torch::kBFloat16 : torch::kFloat32);
  reset_peak_device_memory(dev_);

  accum_ = tc_.accumulation_steps();
  tokens_per_step_ = static_cast<double>(tc_.batch_size * mc_.max_seq_len);
  dense_step_flops_ = estimate_flops(mc_, vspec_.gated, {}, FlopsMode::standard).training_per_token * tokens_per_step_;
  int64_t nominal = tc_.steps;
  if (tc_.budget_kind == "tokens") {
    nominal = static_cast<int64_t>(std::floor(tc_.budget_value / tokens_per_step_));
    if (nominal < 1)
      throw Error("train.budget.value: " + std::to_string(tc_.budget_value) + " tokens is less than one step (" +
                  std::to_string(static_cast<int64_t>(tokens_per_step_)) + " tokens)");
  } else if (tc_.budget_kind == "flops") {
    nominal = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(tc_.budget_value / dense_step_flops_)));
  }
  sched_ = LrSchedule{nominal, tc_.warmup_frac, tc_.warmup_start_factor};
  max_steps_ = (tc_.budget_kind == "steps" || tc_.budget_kind == "tokens") ? nominal : 20 * nominal;
  if (tc_.budget_kind == "wall_clock") max_steps_ = std::numeric_limits<int64_t>::max();
}

bool Run::budget_done() const {
  if (step_ >= max_steps_) return true;
  if (tc_.budget_kind == "flops") return flops_standard_ >= tc_.budget_value;
  if (tc_.budget_kind == "wall_clock") return train_seconds_ >= tc_.budget_value;
  return false;
}

double Run::progress() const {
  if (tc_.budget_kind == "flops") return std::min(1.0, flops_standard_ / tc_.budget_value);
  if (tc_.budget_kind == "wall_clock") return std::min(1.0, train_seconds_ / tc_.budget_value);
  return static_cast<double>(step_) / static_cast<double>(sched_.steps);
}

// One optimizer step. Nothing in the micro-batch loop reads a device value: losses and gate statistics
// accumulate on the device, and the step reads them once, after the last backward (the divergence check and the
// controller need them before the update).
void Run::train_step() {
  StepTimer timer;
  timer.start();
  prof::Range step_range("step");
  GateStatsAccumulator stats(mc_.n_layers, tc_.zero_eps);
  torch::Tensor ce_acc, reg_acc;  // fp64 sums on the device
  for (int64_t m = 0; m < accum_; ++m) {
    data::Batch b;
    {
      prof::Range r("data");
      b = data::to_device(train_data_->next(), dev_);
    }
    ForwardOutput out;
    torch::Tensor ce, reg;
    {
      prof::Range r("forward");
      AutocastScope autocast(precision_, dev_.type());  // closes (and clears the weight cache) before backward
      out = model_->forward(b.inputs);
      ce = torch::nn::functional::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}).to(torch::kFloat32),
                                                b.targets.reshape({-1}));
      reg = controller_->loss(out.gates);
    }
    {
      prof::Range r("backward");
      prof::AdoptOtherThreads adopt;  // GPU: autograd's device thread opens the per-block backward ranges
      ((ce + reg) / static_cast<double>(accum_)).backward();
    }
    prof::Range r("metrics");
    auto c = ce.detach().to(torch::kFloat64), g = reg.detach().to(dev_, torch::kFloat64);
    ce_acc = ce_acc.defined() ? ce_acc + c : c;
    reg_acc = reg_acc.defined() ? reg_acc + g : g;
    stats.add(out);
  }
  double ce_sum = 0, reg_sum = 0;
  {
    prof::Range r("metrics");
    auto host = torch::stack({ce_acc, reg_acc}).cpu();  // the step's one wait for the device
    ce_sum = host[0].item<double>();
    reg_sum = host[1].item<double>();
  }
  const double ce_mean = ce_sum / static_cast<double>(accum_);
  if (!std::isfinite(ce_mean)) {
    status_ = "diverged";
    failure_ = "loss became " + std::to_string(ce_mean) + " at step " + std::to_string(step_);
    return;
  }
  {
    prof::Range r("optimizer");
    if (stats.gated()) controller_->update({stats.gate_mean(), stats.gate_var()});
    // lr: steps and tokens budgets count steps; flops and wall-clock budgets measure progress continuously
    const bool continuous = tc_.budget_kind == "flops" || tc_.budget_kind == "wall_clock";
    const double factor = sched_.factor(continuous ? progress() * static_cast<double>(sched_.steps) : double(step_));
    optim_->step(factor);
    optim_->zero_grad();
  }
  const double dt = timer.stop();
  if (opts_.on_step) opts_.on_step(step_, dt);
  const auto zf = stats.zero_fraction();
  flops_standard_ += estimate_flops(mc_, vspec_.gated, zf, FlopsMode::standard).training_per_token * tokens_per_step_;
  flops_reference_ += estimate_flops(mc_, vspec_.gated, zf, FlopsMode::reference).forward_per_sequence *
                      static_cast<double>(tc_.batch_size);
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
    auto cs = controller_->state();
    if (!cs.empty()) rec["controller"] = cs;
    metrics_->write(rec);
  }
  ++step_;
  if (opts_.progress && ((step_ - 1) % tc_.log_every == 0 || budget_done())) {
    const double p = std::max(progress(), 1e-9);
    const double elapsed =
        prior_elapsed_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
    char line[220];
    std::snprintf(line, sizeof line, "step %ld (%.0f%% of %s budget) | loss %.4f | lr %.2e | %.0f tok/s | ETA %s",
                  static_cast<long>(step_), 100 * progress(), tc_.budget_kind.c_str(), ce_mean, train_lr_.back(),
                  tokens_per_step_ / dt, fmt_duration(elapsed / p * (1 - p)).c_str());
    *opts_.progress << (tty_ ? "\r\033[K" : "") << line << (tty_ ? "" : "\n") << std::flush;
  }
}

void Run::validate(bool final) {
  prof::Range range("evaluation");
  const auto t0 = std::chrono::steady_clock::now();
  EvalOptions eo;
  eo.max_batches = tc_.val_max_batches;
  eo.token_analysis = final;  // which tokens skip: on the final validation
  eo.labels = val_labels_.get();
  last_val_ = evaluate(model_, *val_data_, cfg_, dev_, eo);
  val_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  val_steps_.push_back(step_);
  val_loss_.push_back(last_val_.loss);
  json::object rec{{"kind", "val"}, {"step", step_}, {"val_loss", last_val_.loss}, {"gates", last_val_.stats.to_json()}};
  if (final && !last_val_.token_analysis.empty()) rec["which_tokens_skip"] = last_val_.token_analysis;
  if (metrics_) metrics_->write(rec);
  if (opts_.progress)
    *opts_.progress << (tty_ ? "\r\033[K" : "") << "step " << step_ << " | val_loss " << last_val_.loss << "\n";
}

// Files are step-stamped and state.json (renamed into place last) names them, so a crash at any moment leaves
// either the previous complete checkpoint or the new one.
void Run::save_checkpoint() {
  const std::string dir = fs::join(out_, "checkpoint");
  fs::make_dirs(dir);
  const std::string tag = std::to_string(step_);
  save_model(model_, fs::join(dir, "model_" + tag + ".pt"));
  optim_->save(fs::join(dir, "optim_" + tag + ".pt"));
  const auto& pos = train_data_->position();
  json::object history{{"train_loss", arr(train_loss_)}, {"train_reg", arr(train_reg_)}, {"train_lr", arr(train_lr_)},
                       {"step_s", arr(step_s_)},         {"val_loss", arr(val_loss_)},   {"flops_standard", flops_standard_},
                       {"flops_reference", flops_reference_}, {"train_seconds", train_seconds_},
                       {"val_seconds", val_seconds_},
                       {"elapsed_s", prior_elapsed_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count()}};
  json::array vs;
  for (auto s : val_steps_) vs.push_back(s);
  json::object state{{"schema", "skipbench.checkpoint"},
                     {"schema_version", 1},
                     {"step", step_},
                     {"config", compact_json(resolved_)},
                     {"loader", json::object{{"epoch", pos.epoch}, {"shard", pos.shard}, {"offset", pos.offset}}},
                     {"controller", exact_numbers(controller_->state())},
                     {"history", exact_numbers(history)},
                     {"val_steps", vs},
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
  auto s = read_json_file(path).as_object();
  if (std::string(s.at("config").as_string()) != compact_json(resolved_))
    throw Error(path + ": the checkpoint belongs to a different config; resume with the same config or use a new --out");
  load_model(model_, fs::join(dir, std::string(s.at("model").as_string())));
  optim_->load(fs::join(dir, std::string(s.at("optimizer").as_string())));
  const auto& l = s.at("loader").as_object();
  train_data_->set_position({l.at("epoch").to_number<int64_t>(), l.at("shard").to_number<size_t>(),
                             l.at("offset").to_number<size_t>()});
  controller_->load_state(restore_numbers(s.at("controller")).as_object());
  const auto h = restore_numbers(s.at("history")).as_object();
  train_loss_ = vec<double>(h.at("train_loss"));
  train_reg_ = vec<double>(h.at("train_reg"));
  train_lr_ = vec<double>(h.at("train_lr"));
  step_s_ = vec<double>(h.at("step_s"));
  val_loss_ = vec<double>(h.at("val_loss"));
  flops_standard_ = h.at("flops_standard").to_number<double>();
  flops_reference_ = h.at("flops_reference").to_number<double>();
  train_seconds_ = h.at("train_seconds").to_number<double>();
  val_seconds_ = h.at("val_seconds").to_number<double>();
  prior_elapsed_ = h.at("elapsed_s").to_number<double>();
  val_steps_ = vec<int64_t>(s.at("val_steps"));
  last_train_stats_ = s.at("last_train_stats").as_object();
  step_ = s.at("step").to_number<int64_t>();
  resumed_from_ = step_;
  return true;
}

TrainResult Run::go() {
  tty_ = opts_.progress && ::isatty(STDERR_FILENO);
  t_start_ = std::chrono::steady_clock::now();
  if (!out_.empty()) fs::make_dirs(out_);
  const bool resumed = load_checkpoint();
  if (!out_.empty()) {
    if (resumed) {  // keep the metrics of the steps before the checkpoint, drop any after it
      std::ifstream in(fs::join(out_, "metrics.jsonl"));
      std::string line, kept;
      while (std::getline(in, line)) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (!v.is_object()) continue;
        const auto st = v.as_object().at("step").to_number<int64_t>();
        const bool val = v.as_object().at("kind") == "val";
        if ((!val && st < step_) || (val && st <= step_)) kept += line + "\n";
      }
      write_file_atomic(fs::join(out_, "metrics.jsonl"), kept);
    }
    metrics_ = std::make_unique<MetricsLog>(fs::join(out_, "metrics.jsonl"), /*append=*/resumed);
  }
  if (opts_.progress)
    *opts_.progress << "skipbench train: " << vspec_.name << " (" << cspec_.name << " controller), " << mc_.n_layers
                    << " layers, " << tc_.budget_kind << " budget "
                    << (tc_.budget_kind == "steps" ? double(tc_.steps) : tc_.budget_value) << ", " << tc_.batch_size
                    << " x " << mc_.max_seq_len << " tokens per step on " << dev_.str()
                    << (out_.empty() ? "" : " -> " + out_)
                    << (resumed ? " (resuming after step " + std::to_string(step_) + ")" : "") << "\n";

  int64_t this_invocation = 0;
  while (!budget_done()) {
    train_step();
    if (status_ != "completed") break;
    ++this_invocation;
    const bool last = budget_done();
    if (tc_.val_every > 0 && step_ % tc_.val_every == 0 && !last) validate(false);
    if (!out_.empty() && tc_.checkpoint_every > 0 && step_ % tc_.checkpoint_every == 0 && !last) save_checkpoint();
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
  if (!out_.empty()) {
    save_model(model_, fs::join(out_, "model.pt"));  // before run.json: a report always has its weights beside it
    r.report_path = write_run_report(out_, r.report);
    fs::remove_tree(fs::join(out_, "checkpoint"));
  }
  return r;
}

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
  }
  json::array steps_axis, vsteps;
  for (size_t i = 0; i < train_loss_.size(); ++i) steps_axis.push_back(static_cast<int64_t>(i + 1));
  for (auto s : val_steps_) vsteps.push_back(s);
  const auto zf_val = last_val_.stats.zero_fraction();
  auto timing = step_time_summary(step_s_, tokens_per_step_);  // step_s_ survives resumes, a StepTimer would not
  timing["train_s"] = train_seconds_;
  timing["validation_s"] = val_seconds_;
  timing["total_s"] = prior_elapsed_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
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
                      {"value", tc_.budget_kind == "steps" ? double(tc_.steps) : tc_.budget_value},
                      {"steps", step_},
                      {"tokens", tokens_per_step_ * double(step_)},
                      {"train_flops_standard", flops_standard_},
                      {"train_seconds", train_seconds_},
                      {"schedule_steps", sched_.steps}};
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
      {"data", json::object{{"train", json::object{{"glob", cfg_.data.train}, {"tokens", train_data_->total_tokens()},
                                                   {"windows_per_epoch", train_data_->windows_per_epoch()}}},
                            {"val", json::object{{"glob", cfg_.data.val}, {"tokens", val_data_->total_tokens()},
                                                 {"windows", val_data_->windows_per_epoch()}}}}},
      {"model", json::object{{"parameters", n_params}, {"parameters_by_group", by_group}}},
      {"tokens_per_step", tokens_per_step_},
      {"accumulation_steps", accum_},
      {"budget", budget},
      {"resumed_from_step", resumed_from_ >= 0 ? json::value(resumed_from_) : json::value(nullptr)},
      {"train_curve", json::object{{"step", steps_axis}, {"loss", arr(train_loss_)}, {"lr", arr(train_lr_)},
                                   {"reg_loss", arr(train_reg_)}}},
      {"val_curve", json::object{{"step", vsteps}, {"loss", arr(val_loss_)}}},
      {"final", json::object{{"train_loss", train_loss_.empty() ? 0.0 : train_loss_.back()},
                             {"val_loss", val_loss_.empty() ? json::value(nullptr) : json::value(val_loss_.back())},
                             {"steps", step_},
                             {"tokens_seen", tokens_per_step_ * double(step_)}}},
      {"gates", json::object{{"val", last_val_.stats.to_json()}, {"train_last_step", last_train_stats_}}},
      {"which_tokens_skip", last_val_.token_analysis},
      {"flops", json::object{
                    {"inference_at_val_sparsity",
                     json::object{{"reference", estimate_flops(mc_, vspec_.gated, zf_val, FlopsMode::reference).to_json()},
                                  {"standard", estimate_flops(mc_, vspec_.gated, zf_val, FlopsMode::standard).to_json()}}},
                    {"training_total", json::object{{"standard", flops_standard_},
                                                    {"reference_forward_only", flops_reference_}}}}},
      {"timing", timing},
      {"execution", json::object{{"device", dev_.str()},
                                 {"precision", to_string(precision_)},
                                 {"optimizer_impl", to_string(optim_->impl())},
                                 {"attention_impl", mc_.attention_impl},
                                 {"sdpa_backend", tc_.sdpa_backend},
                                 {"sdpa_kernel", sdpa_kernel_}}},
  };
  if (!failure_.empty()) report["failure"] = failure_;
  return report;
}

}  // namespace

TrainResult train(const Config& cfg, const std::string& out_dir, const TrainOptions& opts) {
  Run run(cfg, out_dir, opts);
  return run.go();
}

}  // namespace skipbench
