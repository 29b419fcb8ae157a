// trainer.cpp: see trainer.h.
#include "harness/train/trainer.h"

#include <torch/torch.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <memory>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/provenance.h"
#include "harness/data/loader.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/checkpoint.h"
#include "harness/train/evaluate.h"
#include "harness/train/gate_controller.h"
#include "harness/train/gate_stats.h"
#include "harness/train/optimizer.h"
#include "harness/train/schedule.h"
#include "profiling/flops.h"
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

}  // namespace

TrainResult train(const Config& cfg, const std::string& out_dir, const TrainOptions& opts) {
  const auto& tc = cfg.train;
  const auto& mc = cfg.model;
  // ---- validate everything before any output exists ----
  const auto& vspec = VariantRegistry::instance().get(cfg.variant.name);
  const auto vopts = resolve_options(vspec.name, vspec.options, cfg.variant.options, "variant.options");
  const auto& cspec = ControllerRegistry::instance().get(tc.controller.name);
  const auto copts = resolve_options(cspec.name, cspec.options, tc.controller.options, "train.controller.options");
  const torch::Device dev = pick_device(tc.device);
  data::TokenLoader train_data(cfg.data.train, "data.train", mc.vocab_size, tc.micro_batch_size, mc.max_seq_len);
  data::TokenLoader val_data(cfg.data.val, "data.val", mc.vocab_size, tc.micro_batch_size, mc.max_seq_len);
  std::unique_ptr<data::TokenLoader> val_labels;
  if (!cfg.data.val_labels.empty())
    val_labels = std::make_unique<data::TokenLoader>(cfg.data.val_labels, "data.val_labels", 65536,
                                                     tc.micro_batch_size, mc.max_seq_len);

  if (tc.threads > 0) torch::set_num_threads(static_cast<int>(tc.threads));
  torch::manual_seed(tc.seed);
  Transformer model = vspec.build(mc, vopts);  // throws Error for configs the variant refuses (odd L, ...)
  model->to(dev);
  model->train();
  auto controller = cspec.build(mc.n_layers, copts);
  GroupedAdamW optim(*model, tc);
  const LrSchedule sched{tc.steps, tc.warmup_frac, tc.warmup_start_factor};

  if (opts.progress)
    *opts.progress << "skipbench train: " << vspec.name << " (" << cspec.name << " controller), " << mc.n_layers
                   << " layers, " << tc.steps << " steps of " << tc.batch_size << " x " << mc.max_seq_len
                   << " tokens on " << dev.str() << (out_dir.empty() ? "" : " -> " + out_dir) << "\n";
  std::unique_ptr<MetricsLog> metrics;
  if (!out_dir.empty()) {
    fs::make_dirs(out_dir);
    metrics = std::make_unique<MetricsLog>(out_dir + "/metrics.jsonl");
  }

  const int64_t accum = tc.accumulation_steps();
  const double tokens_per_step = static_cast<double>(tc.batch_size * mc.max_seq_len);
  const double seqs_per_step = static_cast<double>(tc.batch_size);
  TrainResult res;
  res.status = "completed";
  std::string failure;
  StepTimer timer;
  json::array train_lr, val_records;
  std::vector<double> train_reg;
  double train_flops_standard = 0, train_flops_reference = 0;
  EvalResult last_val(mc.n_layers, tc.zero_eps);
  GateStatsAccumulator last_train_stats(mc.n_layers, tc.zero_eps);
  double val_seconds = 0;
  const auto t_start = std::chrono::steady_clock::now();
  const bool tty = opts.progress && ::isatty(STDERR_FILENO);

  auto run_validation = [&](int64_t step, bool final) {
    const auto t0 = std::chrono::steady_clock::now();
    EvalOptions eo;
    eo.max_batches = tc.val_max_batches;
    eo.token_analysis = final;  // which tokens skip: on the final validation
    eo.labels = val_labels.get();
    last_val = evaluate(model, val_data, cfg, dev, eo);
    val_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.val_steps.push_back(step);
    res.val_loss.push_back(last_val.loss);
    json::object rec{{"kind", "val"}, {"step", step}, {"val_loss", last_val.loss}, {"gates", last_val.stats.to_json()}};
    if (final && !last_val.token_analysis.empty()) rec["which_tokens_skip"] = last_val.token_analysis;
    val_records.push_back(rec);
    if (metrics) metrics->write(rec);
    if (opts.progress) *opts.progress << (tty ? "\r\033[K" : "") << "step " << step << " | val_loss " << last_val.loss << "\n";
  };

  for (int64_t step = 0; step < tc.steps; ++step) {
    timer.start();
    GateStatsAccumulator step_stats(mc.n_layers, tc.zero_eps);
    double ce_sum = 0, reg_sum = 0;
    for (int64_t m = 0; m < accum; ++m) {
      auto b = train_data.next();
      auto out = model->forward(b.inputs.to(dev));
      auto ce = torch::nn::functional::cross_entropy(out.logits.reshape({-1, out.logits.size(-1)}).to(torch::kFloat32),
                                                     b.targets.to(dev).reshape({-1}));
      auto reg = controller->loss(out.gates);
      auto loss = (ce + reg) / static_cast<double>(accum);
      loss.backward();
      ce_sum += ce.item<double>();
      reg_sum += reg.item<double>();
      step_stats.add(out);
    }
    const double ce_mean = ce_sum / static_cast<double>(accum);
    if (!std::isfinite(ce_mean)) {
      res.status = "diverged";
      failure = "loss became " + std::to_string(ce_mean) + " at step " + std::to_string(step);
      timer.stop();
      break;
    }
    if (step_stats.gated()) controller->update({step_stats.gate_mean(), step_stats.gate_var()});
    const double factor = sched.factor(step);
    optim.step(factor);
    optim.zero_grad();
    const double dt = timer.stop();
    last_train_stats = step_stats;
    res.train_loss.push_back(ce_mean);
    train_reg.push_back(reg_sum / static_cast<double>(accum));
    const double lr0 = optim.group_lr(0);
    train_lr.push_back(lr0);
    const auto zf = step_stats.zero_fraction();
    train_flops_standard += estimate_flops(mc, vspec.gated, zf, FlopsMode::standard).training_per_token * tokens_per_step;
    train_flops_reference += estimate_flops(mc, vspec.gated, zf, FlopsMode::reference).forward_per_sequence * seqs_per_step;
    if (metrics) {
      json::object rec{{"kind", "train"},  {"step", step},          {"loss", ce_mean},
                       {"reg_loss", train_reg.back()}, {"lr", lr0},  {"step_s", dt},
                       {"tokens", tokens_per_step * double(step + 1)}};
      if (step_stats.gated()) rec["gates"] = step_stats.to_json();
      auto cs = controller->state();
      if (!cs.empty()) rec["controller"] = cs;
      metrics->write(rec);
    }
    if (opts.progress && (step % tc.log_every == 0 || step + 1 == tc.steps)) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
      const double eta = elapsed / double(step + 1) * double(tc.steps - step - 1);
      char line[200];
      std::snprintf(line, sizeof line, "step %ld/%ld | loss %.4f | lr %.2e | %.0f tok/s | ETA %s",
                    static_cast<long>(step + 1), static_cast<long>(tc.steps), ce_mean, lr0, tokens_per_step / dt,
                    fmt_duration(eta).c_str());
      *opts.progress << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
    }
    if (tc.val_every > 0 && (step + 1) % tc.val_every == 0 && step + 1 < tc.steps) run_validation(step + 1, false);
  }
  if (res.status == "completed") run_validation(tc.steps, true);
  const double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();

  // ---- the report ----
  int64_t n_params = 0;
  json::object by_group;
  {
    auto g = param_groups(*model);
    auto count = [](const auto& v) {
      int64_t n = 0;
      for (const auto& p : v) n += p.second.numel();
      return n;
    };
    by_group = {{"default", count(g.default_group)}, {"norms", count(g.norms)}, {"masks", count(g.masks)}};
    n_params = count(g.default_group) + count(g.norms) + count(g.masks);
  }
  json::array steps_axis, loss_axis;
  for (size_t i = 0; i < res.train_loss.size(); ++i) {
    steps_axis.push_back(static_cast<int64_t>(i + 1));
    loss_axis.push_back(res.train_loss[i]);
  }
  json::array vsteps, vloss;
  for (size_t i = 0; i < res.val_loss.size(); ++i) {
    vsteps.push_back(res.val_steps[i]);
    vloss.push_back(res.val_loss[i]);
  }
  const auto zf_val = last_val.stats.zero_fraction();
  auto timing = timer.summary(tokens_per_step);
  timing["total_s"] = total_s;
  timing["validation_s"] = val_seconds;
  timing["peak_host_memory_bytes"] = peak_host_memory_bytes();
  timing["device"] = dev.str();

  json::object report{
      {"schema", kRunSchema},
      {"schema_version", kRunSchemaVersion},
      {"status", res.status},
      {"config", fully_resolved(cfg, vopts, copts)},
      {"config_source", cfg.source},
      {"seed", tc.seed},
      {"variant", json::object{{"name", vspec.name}, {"options", vopts}, {"gated", vspec.gated}}},
      {"controller", json::object{{"name", cspec.name}, {"options", copts}, {"final_state", controller->state()}}},
      {"provenance", provenance()},
      {"data", json::object{{"train", json::object{{"glob", cfg.data.train}, {"tokens", train_data.total_tokens()},
                                                   {"windows_per_epoch", train_data.windows_per_epoch()}}},
                            {"val", json::object{{"glob", cfg.data.val}, {"tokens", val_data.total_tokens()},
                                                 {"windows", val_data.windows_per_epoch()}}}}},
      {"model", json::object{{"parameters", n_params}, {"parameters_by_group", by_group}}},
      {"tokens_per_step", tokens_per_step},
      {"accumulation_steps", accum},
      {"train_curve", json::object{{"step", steps_axis}, {"loss", loss_axis}, {"lr", train_lr}, {"reg_loss", arr(train_reg)}}},
      {"val_curve", json::object{{"step", vsteps}, {"loss", vloss}}},
      {"final", json::object{{"train_loss", res.train_loss.empty() ? 0.0 : res.train_loss.back()},
                             {"val_loss", res.val_loss.empty() ? json::value(nullptr) : json::value(res.val_loss.back())},
                             {"steps", static_cast<int64_t>(res.train_loss.size())},
                             {"tokens_seen", tokens_per_step * double(res.train_loss.size())}}},
      {"gates", json::object{{"val", last_val.stats.to_json()}, {"train_last_step", last_train_stats.to_json()}}},
      {"which_tokens_skip", last_val.token_analysis},
      {"flops", json::object{
                    {"inference_at_val_sparsity",
                     json::object{{"reference", estimate_flops(mc, vspec.gated, zf_val, FlopsMode::reference).to_json()},
                                  {"standard", estimate_flops(mc, vspec.gated, zf_val, FlopsMode::standard).to_json()}}},
                    {"training_total", json::object{{"standard", train_flops_standard},
                                                    {"reference_forward_only", train_flops_reference}}}}},
      {"timing", timing},
  };
  if (!failure.empty()) report["failure"] = failure;
  res.report = report;
  if (!out_dir.empty()) {
    save_model(model, out_dir + "/model.pt");  // before run.json: a report always has its weights beside it
    res.report_path = write_run_report(out_dir, report);
  }
  return res;
}

}  // namespace skipbench
