// profile_session.cpp: see profile_session.h.
#include "profiling/profile_session.h"

#include <torch/torch.h>

#include <boost/json.hpp>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/data/loader.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/checkpoint.h"
#include "harness/train/autocast.h"
#include "harness/train/trainer.h"
#include "profiling/cupti_tracer.h"
#include "profiling/op_timer.h"
#include "profiling/ranges.h"
#include "profiling/step_timer.h"

namespace skipbench {
namespace json = boost::json;

json::object profile_tables(const std::map<std::string, double>& sec, const std::map<std::string, int64_t>& cnt,
                            int64_t steps) {
  const double n = static_cast<double>(std::max<int64_t>(1, steps));
  const double step_total = sec.count("step") ? sec.at("step") : 0.0;
  json::array ranges;
  json::object phases, modules;
  std::map<int64_t, json::object> layers;
  for (const auto& [path, s] : sec) {
    const auto depth = static_cast<int64_t>(std::count(path.begin(), path.end(), '/'));
    const auto slash = path.rfind('/');
    const std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
    ranges.push_back(json::object{{"path", path}, {"depth", depth}, {"seconds", s},
                                  {"count", cnt.count(path) ? cnt.at(path) : 0}, {"per_step_s", s / n},
                                  {"fraction_of_step", step_total > 0 ? s / step_total : 0.0}});
    if (depth == 1 && path.rfind("step/", 0) == 0) phases[leaf] = s / n;
    // blocks: "step/<phase>/block.L" and "step/forward/block.L/{gate,attention,ffn}"
    const auto b = path.find("block.");
    if (b != std::string::npos) {
      const auto end = path.find('/', b);
      const int64_t layer = std::stoll(path.substr(b + 6, end == std::string::npos ? std::string::npos : end - b - 6));
      auto& row = layers[layer];
      row["layer"] = layer;
      if (end == std::string::npos) {
        const bool backward = path.find("backward/") != std::string::npos;
        const std::string key = backward ? "backward_s" : "forward_s";
        row[key] = (row.contains(key) ? row[key].as_double() : 0.0) + s / n;
      } else if (path.find('/', end + 1) == std::string::npos) {
        const std::string mod = path.substr(end + 1);
        row[mod + "_s"] = row.contains(mod + "_s") ? row[mod + "_s"].as_double() + s / n : s / n;
        modules[mod] = (modules.contains(mod) ? modules[mod].as_double() : 0.0) + s / n;
      }
    }
  }
  json::array per_layer;
  for (auto& [l, row] : layers) per_layer.push_back(row);
  return {{"per_phase_s", phases}, {"per_layer_s", per_layer}, {"per_module_s", modules}, {"ranges", ranges}};
}

json::object run_profile(const Config& cfg_in, const ProfileOptions& o, const std::string& out_dir) {
  require(o.steps > 0 && o.warmup >= 0, "--steps must be > 0 and --warmup >= 0");
  Config cfg = cfg_in;
  const bool gpu = cfg.train.device != "cpu" && torch::cuda::is_available();
  prof::CuptiTracer tracer;
  std::string cupti_note;
  bool cupti_on = false;
  if (o.cupti && gpu) cupti_on = tracer.start(&cupti_note);
  else cupti_note = !prof::CuptiTracer::compiled_in() ? "built without CUDA" : (gpu ? "disabled (--no-cupti)" : "no GPU: host timers");

  prof::Instruments inst;
  inst.timers = true;
  inst.nvtx = o.nvtx;
  if (gpu && o.sync) inst.sync = [] { torch::cuda::synchronize(); };
  if (cupti_on) prof::CuptiTracer::add_correlation(inst);
  prof::configure(inst);
  prof::reset_timers();

  std::vector<double> wall;
  SkipWork work;  // real skipping (--eval --hard-skip): summed over the profiled steps
  prof::OpTimer ops;
  const bool want_ops = o.ops || o.ops_shapes;  // --ops-shapes implies --ops
  if (want_ops && o.warmup == 0) ops.start(o.ops_shapes);
  auto on_step = [&](int64_t step, double seconds) {
    if (step + 1 == o.warmup) {  // warm-up done: start counting from here
      prof::reset_timers();
      if (want_ops) ops.start(o.ops_shapes);
      if (cupti_on) {
        torch::cuda::synchronize();
        tracer.stop();
        tracer.clear();
        tracer.start(&cupti_note);
      }
    } else if (step >= o.warmup) {
      wall.push_back(seconds);
    }
  };
  if (!o.eval) {
    cfg.train.steps = o.warmup + o.steps;
    cfg.train.budget_kind = "steps";
    cfg.train.val_every = 0;
    cfg.train.checkpoint_every = 0;
    TrainOptions to;
    to.on_step = on_step;
    to.skip_final_validation = true;
    train(cfg, "", to);
  } else {
    Transformer model{nullptr};
    if (!o.run_dir.empty()) {
      auto run = load_run(o.run_dir);
      model = run.model;
    } else {
      torch::manual_seed(cfg.train.seed);
      model = build_model(cfg.model, cfg.variant);
    }
    const torch::Device dev = gpu ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    model->to(dev);
    model->eval();
    torch::NoGradGuard ng;
    data::TokenLoader data(cfg.data.val, "data.val", cfg.model.vocab_size, cfg.train.micro_batch_size,
                           cfg.model.max_seq_len);
    data.pin_memory(gpu);
    for (int64_t i = 0; i < o.warmup + o.steps; ++i) {
      StepTimer t;
      t.start();
      {
        prof::Range step("step");
        torch::Tensor x;
        {
          prof::Range r("data");
          x = data::to_device(data.next(), dev).inputs;
        }
        prof::Range r("forward");
        AutocastScope autocast(parse_precision(cfg.train.precision), dev.type());
        auto out = o.hard_skip ? model->forward_hard_skip(x) : model->forward(x);
        if (gpu) torch::cuda::synchronize();
      }
      if (o.hard_skip && i >= o.warmup) work.add(model->skip_work);
      on_step(i, t.stop());
    }
  }
  if (gpu) torch::cuda::synchronize();
  if (cupti_on) tracer.stop();
  ops.stop();
  auto totals = prof::timer_totals();
  prof::disable();

  std::map<std::string, double> sec;
  std::map<std::string, int64_t> cnt;
  for (const auto& [p, s] : totals) sec[p] = s.seconds, cnt[p] = s.count;
  json::object host = profile_tables(sec, cnt, o.steps);
  json::object report{{"schema", "skipbench.profile"},
                      {"schema_version", 1},
                      {"mode", o.eval ? (o.hard_skip ? "eval_hard_skip" : "eval") : "train"},
                      {"config", cfg.resolved},
                      {"steps", o.steps},
                      {"warmup", o.warmup},
                      {"device", gpu ? "cuda" : "cpu"},
                      {"host_timers", host},
                      {"host_timer_sync", gpu && o.sync},
                      {"cupti", json::object{{"active", cupti_on}, {"note", cupti_note}}},
                      {"provenance", provenance()}};
  json::array w;
  for (double x : wall) w.push_back(x);
  report["wall_s_per_step"] = w;
  report["median_step_s"] = median_of(wall);
  if (want_ops) report["ops"] = ops.to_json(o.steps, o.ops_shapes ? 80 : 40);
  if (work.possible > 0) {  // real skipping: the block FLOPs executed (packed shapes) per profiled step
    const double n = static_cast<double>(std::max<int64_t>(1, o.steps));
    report["executed_flops_per_step"] = json::object{
        {"projections", work.projections / n}, {"attention", work.attention / n}, {"ffn", work.ffn / n},
        {"blocks", work.executed() / n}, {"dense_blocks", work.dense() / n},
        {"fraction_of_dense", work.dense() > 0 ? work.executed() / work.dense() : 1.0}};
  }
  if (cupti_on) {
    auto a = prof::attribute(tracer.records(), tracer.correlations(), prof::paths());
    std::map<std::string, double> gsec;
    std::map<std::string, int64_t> gcnt;
    for (const auto& [p, t] : a.by_path) gsec[p] = t.gpu_s, gcnt[p] = t.records;
    report["gpu"] = profile_tables(gsec, gcnt, o.steps);
    report["gpu_kernels"] = a.to_json();
    report["cupti"].as_object()["dropped_records"] = tracer.dropped();
  }
  if (!out_dir.empty()) {
    fs::make_dirs(out_dir);
    write_file_atomic(fs::join(out_dir, "profile.json"), pretty_json(report));
  }
  return report;
}

}  // namespace skipbench
