// commands.cpp: see commands.h.
#include "cli/commands.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <signal.h>

#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include "harness/common/error.h"
#include "harness/common/host_memory.h"
#include "harness/common/json_io.h"
#include "harness/metrics/run_report.h"
#include "harness/config/config.h"
#include "harness/config/options.h"
#include "cli/data_commands.h"
#include "cli/model_commands.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/provenance.h"
#include "harness/data/embedded_corpus.h"
#include "harness/data/synthetic.h"
#include "harness/suite/suite_runner.h"
#include "harness/suite/suite_spec.h"
#include "harness/train/prune.h"
#include "harness/train/checkpoint.h"
#include "harness/train/distributed.h"
#include "harness/train/evaluate.h"
#include "harness/registry/variant_registry.h"
#include "harness/registry/gate_controller.h"
#include "harness/train/trainer.h"
#include "harness/model/flops.h"
#include "profiling/profile_session.h"
#include "profiling/step_timer.h"
#include "reports/regress.h"

#include <sys/wait.h>
#include <unistd.h>

namespace skipbench {
namespace json = boost::json;

namespace {

std::string self_exe() {
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("skipbench");
}

// Runs one of the Python helpers in reports/ with the project's venv python; returns its exit code.
int run_python_helper(const std::string& script_rel, const std::vector<std::string>& args) {
  const std::string src = SKIPBENCH_SOURCE_DIR;
  std::string py = fs::join(src, ".venv/bin/python");
  if (!fs::exists(py)) py = "python3";
  const std::string script = fs::join(src, script_rel);
  if (!fs::exists(script)) throw Error(script + ": missing from this checkout");
  std::vector<char*> argv{const_cast<char*>(py.c_str()), const_cast<char*>(script.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(py.c_str(), argv.data());
    std::perror("exec python");
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 2;
}

int render_report(const std::string& dir) { return run_python_helper("reports/render_report.py", {dir}); }

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_stop_signal(int) { g_stop = 1; }
}  // namespace

// Exit code of a run stopped by a signal after checkpointing (EX_TEMPFAIL: the same command resumes it).
constexpr int kExitStopped = 75;

int cmd_train(const std::string& config, const std::vector<std::string>& sets, const std::string& out, int threads) {
  if (out.empty()) throw Error("--out: must not be empty (the run directory: run.json, metrics, checkpoints)");
  Config cfg = load_config(config, sets);
  if (threads > 0) torch::set_num_threads(threads);  // a runtime choice (suites pass cores / jobs), not config
  TrainOptions opts;
  opts.progress = &std::cerr;
  // SIGTERM (Slurm preemption, a suite stopping), SIGINT (Ctrl-C), SIGUSR1 (sbatch --signal before the time
  // limit): finish the step in progress, checkpoint, exit 75; the same command resumes bit-identically
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
  opts.stop_flag = &g_stop;
  auto r = train(cfg, out, opts);
  if (r.status == "stopped") {
    std::cerr << "skipbench train: stopped by a signal after step " << r.train_loss.size()
              << ", checkpointed in " << out << "/checkpoint; run the same command to resume\n";
    return kExitStopped;
  }
  if (!r.report_path.empty()) {  // rank 0 (or the one process) wrote the run; other ranks say nothing
    std::cout << "run report: " << r.report_path << "\n";
    std::cout << "metrics:    " << out << "/metrics.jsonl\n";
    if (!r.val_loss.empty()) std::cout << "final val_loss: " << r.val_loss.back() << "\n";
  }
  if (r.status != "completed") {
    std::cerr << "skipbench: error: run " << r.status << ": " << r.report.at("failure").as_string().c_str() << "\n";
    return 3;
  }
  return 0;
}

int cmd_variants() {
  json::array variants, controllers;
  for (const auto* v : VariantRegistry::instance().all())
    variants.push_back(json::object{{"name", v->name}, {"description", v->description}, {"gated", v->gated},
                                    {"options", describe_options(v->options)}});
  for (const auto* c : ControllerRegistry::instance().all())
    controllers.push_back(json::object{{"name", c->name}, {"description", c->description},
                                       {"options", describe_options(c->options)}});
  std::cout << pretty_json(json::object{{"variants", variants}, {"controllers", controllers}});
  return 0;
}

int cmd_flops(const std::string& config, const std::vector<std::string>& sets, const std::string& mode,
              const std::vector<double>& sparsity) {
  Config cfg = load_config(config, sets);
  const auto& spec = VariantRegistry::instance().get(cfg.variant.name);
  // as run.json's estimate: the policy's own modules (MoD's routers, residual_gates' gate linears) included
  const double policy = spec.policy_flops
      ? spec.policy_flops(cfg.model, resolve_options(spec.name, spec.options, cfg.variant.options, "variant.options"))
      : 0.0;
  auto e = with_policy_flops(estimate_flops(cfg.model, spec.gated, sparsity, parse_flops_mode(mode)), policy);
  auto o = e.to_json();
  o["variant"] = spec.name;
  o["n_layers"] = cfg.model.n_layers;
  std::cout << pretty_json(o);
  return 0;
}

int cmd_data_embed(const std::string& source, const std::string& out) {
  auto s = data::build_embedded_corpus(source, out);
  std::cout << "embedded corpus: " << s.documents << " documents, " << s.train_tokens << " train / " << s.val_tokens
            << " validation tokens (byte-level, vocab " << data::kByteVocab << ")\n"
            << "  " << s.train_path << "\n  " << s.val_path << "\n  " << s.manifest_path << "\n";
  return 0;
}

// Under torchrun (RANK and WORLD_SIZE set) an evaluation joins the process group and deals the split's batches over
// the ranks (evaluate.h: every sum all-reduced, the forward time the slowest rank's); every rank loads the same
// weights, so nothing is broadcast, and rank 0 alone writes and prints. One process: no group, no change.
struct EvalGroup {
  DistEnv env = read_dist_env();
  std::unique_ptr<ProcessGroup> pg = env.active() ? std::make_unique<ProcessGroup>(env) : nullptr;
  bool writer() const { return env.rank == 0; }
};

int cmd_eval(const std::string& run_dir, bool hard_skip, const std::string& data_glob, const std::string& labels,
             int64_t max_batches, int repeat, bool causal) {
  if (max_batches < 0) throw Error("--max-batches: must be >= 0 (0: the whole split), got " + std::to_string(max_batches));
  if (repeat < 0 || repeat > 1000) throw Error("--repeat: must be in 0..1000, got " + std::to_string(repeat));
  if (repeat > 0 && !hard_skip)
    throw Error("--repeat: only with --hard-skip or --exits (it times forward passes side by side)");
  auto run = load_completed_run(run_dir, "its weights are not a trained model to evaluate (train it again, or "
                                          "evaluate another run)");
  Config& cfg = run.config;
  const torch::Device dev = (cfg.train.device != "cpu" && torch::cuda::is_available()) ? torch::kCUDA : torch::kCPU;
  run.model->to(dev);
  if (causal) {
    if (!run.model->gates || !run.model->gates->has_causal_mode())
      throw Error("--causal: variant " + cfg.variant.name + " has no causal routing mode (mod has: its predictor)");
    run.model->gates->causal = true;
  }
  const std::string glob = data_glob.empty() ? cfg.data.val : data_glob;
  data::TokenLoader loader(glob, "--data", cfg.model.vocab_size, cfg.train.micro_batch_size, cfg.model.max_seq_len);
  std::unique_ptr<data::TokenLoader> label_loader;
  const std::string lglob = !labels.empty() ? labels : (data_glob.empty() ? cfg.data.val_labels : "");
  if (!lglob.empty())
    label_loader = std::make_unique<data::TokenLoader>(lglob, "--labels", 65536, cfg.train.micro_batch_size,
                                                       cfg.model.max_seq_len);
  EvalGroup group;
  EvalOptions eo;
  eo.max_batches = max_batches;
  eo.hard_skip = hard_skip;
  eo.token_analysis = true;
  eo.labels = label_loader.get();
  eo.group = group.pg.get();
  auto r = evaluate(run.model, loader, cfg, dev, eo);
  if (!(r.tokens > 0)) throw Error(glob + ": evaluated 0 tokens; nothing written");  // never overwrite a good eval
  json::object o = r.to_json();
  o["schema"] = "skipbench.eval";
  o["schema_version"] = 1;
  o["run"] = run_dir;
  o["data"] = glob;
  o["mode"] = hard_skip ? "hard_skip" : "soft";
  o["causal_routing"] = causal;
  if (repeat > 0) {
    // Repeated timings for the claims engine (claim 6): soft and hard forward passes over the same batches,
    // interleaved in this one process so that drift and load hit both alike; the pass above was the warm-up.
    EvalOptions to;
    to.max_batches = max_batches;
    to.group = eo.group;
    json::array soft_s, hard_s;
    for (int i = 0; i < repeat; ++i) {
      to.hard_skip = false;
      soft_s.push_back(evaluate(run.model, loader, cfg, dev, to).seconds);
      to.hard_skip = true;
      hard_s.push_back(evaluate(run.model, loader, cfg, dev, to).seconds);
    }
    o["repeats"] = json::object{{"soft_s", soft_s}, {"hard_s", hard_s}, {"order", "soft, hard interleaved"},
                                {"tokens", r.tokens}, {"max_batches", max_batches}};
  }
  const std::string path =
      fs::join(run_dir, std::string(hard_skip ? "eval_hard_skip" : "eval_soft") + (causal ? "_causal.json" : ".json"));
  if (!group.writer()) return 0;  // every rank holds the result; rank 0 writes it
  write_file_atomic(path, pretty_json(o));
  std::cout << pretty_json(json::object{{"mode", o["mode"]}, {"loss", r.loss}, {"tokens", r.tokens},
                                        {"tokens_per_s", o["tokens_per_s"]}, {"computed_fraction", r.computed_fraction},
                                        {"sparsity", r.stats.to_json().at("sparsity")}, {"report", path}});
  return 0;
}

// skipbench eval --exits: early exit at every depth d = 1..L (the first d blocks, then the shared output norm and
// head): validation loss at each depth from one pass, and the measured forward time of the truncated model
// (repeats interleaved over depths, medians), beside the standard-mode FLOPs estimate of d blocks + head. Meant for
// `layerdrop` runs (trained for it); on any other run it shows what exiting early costs a model not trained to.
int cmd_eval_exits(const std::string& run_dir, const std::string& data_glob, int64_t max_batches, int repeat) {
  auto run = load_completed_run(run_dir, "its weights are not a trained model to evaluate");
  Config& cfg = run.config;
  const torch::Device dev = (cfg.train.device != "cpu" && torch::cuda::is_available()) ? torch::kCUDA : torch::kCPU;
  run.model->to(dev);
  const std::string glob = data_glob.empty() ? cfg.data.val : data_glob;
  data::TokenLoader loader(glob, "--data", cfg.model.vocab_size, cfg.train.micro_batch_size, cfg.model.max_seq_len);
  EvalGroup group;
  EvalOptions eo;
  eo.max_batches = max_batches;
  eo.exits = true;
  eo.group = group.pg.get();
  const auto r = evaluate(run.model, loader, cfg, dev, eo);  // also the timing warm-up
  if (!(r.tokens > 0)) throw Error(glob + ": evaluated 0 tokens; nothing written");
  const int64_t L = cfg.model.n_layers;
  std::vector<std::vector<double>> secs(L);
  EvalOptions to;
  to.max_batches = max_batches;
  to.group = eo.group;
  for (int i = 0; i < repeat; ++i)
    for (int64_t d = 1; d <= L; ++d) {
      run.model->depth = d;
      secs[d - 1].push_back(evaluate(run.model, loader, cfg, dev, to).seconds);
    }
  run.model->depth = 0;
  json::array depths;
  const double full_s = repeat > 0 ? median_of(secs[L - 1]) : 0.0;
  for (int64_t d = 1; d <= L; ++d) {
    ModelConfig mc = cfg.model;
    mc.n_layers = d;
    const double flops = estimate_flops(mc, /*gated=*/false, {}, FlopsMode::standard).forward_per_token;
    json::object row{{"depth", d}, {"loss", r.exit_loss[d - 1]}, {"forward_flops_per_token", flops}};
    if (repeat > 0) {
      const double med = median_of(secs[d - 1]);
      row["seconds"] = json_array(secs[d - 1]);
      row["median_s"] = med;
      row["us_per_token"] = 1e6 * med / r.tokens;
      row["time_vs_full"] = full_s > 0 ? med / full_s : 0.0;
    }
    depths.push_back(row);
  }
  json::object o{{"schema", "skipbench.eval_exits"}, {"schema_version", 1}, {"run", run_dir}, {"data", glob},
                 {"variant", cfg.variant.name}, {"tokens", r.tokens}, {"max_batches", max_batches},
                 {"repeats", repeat}, {"order", "depths 1..L interleaved within each repeat; the first pass warms up"},
                 {"ranks", r.ranks}, {"depths", depths}};
  const std::string path = fs::join(run_dir, "eval_exits.json");
  if (!group.writer()) return 0;
  write_file_atomic(path, pretty_json(o));
  std::cout << "depth  val loss  us/token  FLOPs/token\n";
  for (const auto& v : depths) {
    const auto& row = v.as_object();
    std::printf("%5lld  %8.4f  %8.2f  %11.4g\n", static_cast<long long>(row.at("depth").as_int64()),
                row.at("loss").as_double(), row.contains("us_per_token") ? row.at("us_per_token").as_double() : 0.0,
                row.at("forward_flops_per_token").as_double());
  }
  std::cout << "wrote " << path << "\n";
  return 0;
}

// skipbench prune: a trained dense run minus K blocks chosen by Block Influence or angular distance (prune.h),
// written as a run directory of its own (run.json + model.pt + prune.json) that eval, profile and reports load.
// The healing fine-tune's config: the pruned run's, trained for `steps` optimizer steps from the pruned weights
// (train.init_from), every optimizer group's lr scaled by lr_scale, validation at the end only.
json::object healing_config(const json::object& pruned, const std::string& pruned_dir, int64_t steps, double lr_scale) {
  json::object c = pruned;
  auto& t = c["train"].as_object();
  t["steps"] = steps;
  t["budget"] = json::object{{"kind", "steps"}, {"value", steps}};
  t["init_from"] = pruned_dir;
  t["val_every"] = 0;
  for (auto& [name, group] : t["optimizer"].as_object())
    if (group.is_object() && group.as_object().contains("lr") && group.as_object().at("lr").is_number())
      group.as_object()["lr"] = group.as_object().at("lr").to_number<double>() * lr_scale;
  return c;
}

int cmd_prune(const std::string& run_dir, int64_t drop, const std::string& method, const std::vector<int64_t>& blocks,
              const std::string& data_glob, int64_t max_batches, const std::string& out, int64_t heal_steps,
              double heal_lr_scale) {
  if (heal_steps < 0) throw Error("--heal-steps: must be >= 0 (0: no healing), got " + std::to_string(heal_steps));
  if (!(heal_lr_scale > 0 && heal_lr_scale <= 10))
    throw Error("--heal-lr-scale: must be in (0, 10] (a factor on the source run's learning rates), got " +
                std::to_string(heal_lr_scale));
  if (method != "influence" && method != "span" && method != "blocks")
    throw Error("--method: expected influence (ShortGPT) or span (Gromov et al.), got '" + method + "'");
  if (method == "blocks" && static_cast<int64_t>(blocks.size()) != drop)
    throw Error("--blocks: name exactly --drop blocks (" + std::to_string(drop) + "), got " + std::to_string(blocks.size()));
  if (max_batches < 0) throw Error("--max-batches: must be >= 0 (0: the whole split), got " + std::to_string(max_batches));
  if (out.empty()) throw Error("--out: must not be empty (the pruned run's directory)");
  if (fs::exists(fs::join(out, "run.json"))) throw Error(fs::join(out, "run.json") + ": already exists; choose another --out");
  const std::string src_json = fs::join(run_dir, "run.json");
  auto run = load_completed_run(run_dir, "not a trained model to prune");
  const json::value src_doc = read_run_report(src_json);
  const JsonField src(src_doc, src_json);
  if (run.config.variant.name != "dense")
    throw Error(src_json + ": variant " + run.config.variant.name + ": prune works on dense runs (prune the dense "
                "twin; skip_middle's gates are tied to its depth)");
  if (drop < 0 || drop >= run.config.model.n_layers)
    throw Error("--drop: must be in [0, " + std::to_string(run.config.model.n_layers - 1) + "] for this " +
                std::to_string(run.config.model.n_layers) + "-block model, got " + std::to_string(drop));
  const torch::Device dev = (run.config.train.device != "cpu" && torch::cuda::is_available()) ? torch::kCUDA : torch::kCPU;
  run.model->to(dev);
  const std::string glob = data_glob.empty() ? run.config.data.val : data_glob;
  data::TokenLoader loader(glob, "--data", run.config.model.vocab_size, run.config.train.micro_batch_size,
                           run.config.model.max_seq_len);
  const auto red = measure_redundancy(run.model, loader, max_batches, dev);
  std::vector<int64_t> dropped = blocks;  // --blocks: the user's choice (e.g. the middle), measured all the same
  if (method == "blocks") {
    std::sort(dropped.begin(), dropped.end());
    for (size_t i = 0; i < dropped.size(); ++i)
      if (dropped[i] < 0 || dropped[i] >= run.config.model.n_layers || (i > 0 && dropped[i] == dropped[i - 1]))
        throw Error("--blocks: distinct block indices in [0, " + std::to_string(run.config.model.n_layers - 1) + "]");
  } else {
    dropped = blocks_to_drop(red, drop, method);
  }
  Transformer pruned = drop_blocks(run.model, run.config.model, dropped);

  json::object config = run.config.resolved;
  config["model"].as_object()["n_layers"] = run.config.model.n_layers - drop;
  const Config check = config_from_json(config, out + "/run.json");  // the pruned run resolves like any other
  json::object record{{"source_run", run_dir},
                      {"method", method},
                      {"method_reference", method == "influence" ? "ShortGPT (Men et al. 2024): lowest Block Influence"
                           : method == "span" ? "Gromov et al. 2024: smallest angular distance span"
                                              : "blocks given with --blocks"},
                      {"dropped_blocks", json_array(dropped)},
                      {"n_layers_before", run.config.model.n_layers},
                      {"n_layers_after", check.model.n_layers},
                      {"measured_on", json::object{{"data", glob}, {"max_batches", max_batches}}},
                      {"redundancy", red.to_json()},
                      {"healing", heal_steps == 0
                                      ? json::value("none (the pruned weights as they are)")
                                      : json::value(json::object{{"run", "healed"}, {"steps", heal_steps},
                                                                 {"lr_scale", heal_lr_scale},
                                                                 {"data", check.data.train}})}};
  fs::make_dirs(out);
  write_file_atomic(fs::join(out, "prune.json"), pretty_json(record));
  save_model(pruned, fs::join(out, "model.pt"));
  json::object report = src.object();  // the source run's record (its data, seed, curves) ...
  report["config"] = config;           // ... with the pruned config, and where it came from
  report["pruned"] = record;
  report["provenance"] = provenance();
  for (const char* stale : {"final", "train_curve", "val_curve", "gates", "flops", "timing", "params"})
    report.erase(stale);  // numbers of the unpruned model: evaluate the pruned one (skipbench eval)
  write_run_report(out, report);
  std::string healed;
  if (heal_steps > 0) {  // a run of its own in OUT/healed, started from the pruned weights just written
    healed = fs::join(out, "healed");
    const Config hc = config_from_json(healing_config(config, out, heal_steps, heal_lr_scale), healed + "/run.json");
    TrainOptions opts;
    opts.progress = &std::cerr;
    const auto r = train(hc, healed, opts);
    if (r.status != "completed")
      throw Error(healed + ": the healing fine-tune " + r.status + " (the pruned model in " + out + " is kept)");
  }
  std::cout << pretty_json(json::object{{"dropped_blocks", json_array(dropped)},
                                        {"block_influence", json_array(red.block_influence)},
                                        {"run", out},
                                        {"healed_run", healed.empty() ? json::value(nullptr) : json::value(healed)}});
  return 0;
}

// torchrun for `suite run --nproc-per-run`: --torchrun, else $SKIPBENCH_TORCHRUN, else the project .venv's beside
// the build folder (build/skipbench -> .venv/bin/torchrun), else torchrun on PATH.
std::string find_torchrun(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* e = std::getenv("SKIPBENCH_TORCHRUN"); e && *e) return e;
  const std::string exe = self_exe();  // .../build/skipbench
  const auto up = [](const std::string& p) { const auto k = p.rfind('/'); return k == std::string::npos ? std::string(".") : p.substr(0, k); };
  const std::string venv = fs::join(up(up(exe)), ".venv/bin/torchrun");
  if (::access(venv.c_str(), X_OK) == 0) return venv;
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    for (size_t a = 0; a <= p.size();) {
      const size_t b = std::min(p.find(':', a), p.size());
      const std::string cand = fs::join(p.substr(a, b - a), "torchrun");
      if (b > a && ::access(cand.c_str(), X_OK) == 0) return cand;
      a = b + 1;
    }
  }
  return venv;  // missing: run_suite names it in its error
}

int cmd_suite_run(const std::string& file, const std::string& out, int jobs, bool retry, bool report, int64_t task,
                  int nproc, const std::string& torchrun) {
  if (task < -1) throw Error("--task: must be >= 0 (an index in the suite's runs, slurm/tasks.tsv), got " + std::to_string(task));
  Suite suite = load_suite(file);  // validates every run before anything starts
  SuiteRunOptions so;
  so.jobs = jobs;
  so.retry_failed = retry;
  so.self_exe = self_exe();
  so.task = task;
  so.nproc_per_run = nproc;
  if (nproc > 1) so.torchrun = find_torchrun(torchrun);
  const int left = run_suite(suite, out, so);
  int rc = 0;
  if (report && task < 0) {
    rc = render_report(out);
    if (rc == 0) std::cout << "report: " << out << "/report.html (also report.md, report.json, figures/)\n";
  }
  if (left > 0) {
    std::cerr << "skipbench suite: " << left << " run(s) not done; see `skipbench suite status " << out << "`\n";
    return 1;
  }
  return rc;
}

// skipbench suite slurm: the suite as sbatch job arrays (harness/suite/suite_slurm.cpp); trains nothing here.
int cmd_suite_slurm(const std::string& file, const std::string& out, SlurmOptions o) {
  Suite suite = load_suite(file);
  o.self_exe = self_exe();
  o.suite_file = fs::absolute(file);
  const auto paths = write_slurm_arrays(suite, fs::absolute(out), o);
  std::cout << "skipbench suite slurm: " << suite.runs.size() << " (run, seed) tasks in " << paths.size()
            << " job array(s) under " << out << "/slurm/ (tasks.tsv lists them)\n"
            << "submit:  bash " << out << "/slurm/submit.sh\n"
            << "follow:  skipbench suite status " << out << "\n"
            << "report:  skipbench report " << out << "   (when every task is done)\n";
  return 0;
}

int cmd_suite_status(const std::string& dir) {
  auto states = suite_status(dir);
  std::map<std::string, int> counts;
  char line[512];
  std::snprintf(line, sizeof line, "%-40s %5s  %-8s %s\n", "run", "seed", "state", "detail");
  std::cout << line;
  for (const auto& s : states) {
    ++counts[s.state];
    std::snprintf(line, sizeof line, "%-40s %5lu  %-8s %s\n", s.name.c_str(), static_cast<unsigned long>(s.seed),
                  s.state.c_str(), s.detail.c_str());
    std::cout << line;
  }
  std::cout << states.size() << " runs: " << counts["done"] << " done, " << counts["running"] << " running, "
            << counts["failed"] << " failed, " << counts["pending"] << " pending\n";
  return 0;
}

int cmd_regress(const std::string& baseline, const std::string& dir, bool update, const std::string& mode,
                const BaselineOptions& bo) {
  if (update) {
    const auto doc = make_baseline(dir, bo);
    write_file_atomic(baseline, pretty_json(doc));
    std::cout << "baseline written: " << baseline << " (from " << dir << ")\n";
    if (doc.at("tolerance").is_object())
      std::cout << "tolerance mode: " << json::serialize(doc.at("tolerance").at("values")) << " from max |diff| "
                << json::serialize(doc.at("tolerance").at("derived_from").at("max_abs_diff")) << "\n";
    else
      std::cout << "no --spread given: the baseline has an exact mode only (other machine types are refused)\n";
    return 0;
  }
  if (!bo.spread_dirs.empty()) throw Error("--spread: only with --update (it measures the tolerances of a new baseline)");
  return regress(baseline, dir, std::cout, parse_regress_mode(mode)) > 0 ? 1 : 0;
}

int cmd_data_synth(const data::SynthOptions& o, const std::string& out) {
  data::write_synthetic(o, out);
  std::cout << "synthetic data (vocab " << o.vocab << ", copy fraction " << o.copy_frac << "): " << out
            << "/{train,val}_000000.bin, labels in {train,val}_labels_000000.bin, manifest.json\n";
  return 0;
}

// Out of memory: one line with what to change, not the allocator's text (issue 14). Exit 4: the input was valid, the
// machine too small for it (the memory estimate, harness/model/memory.h, catches the clearly impossible shapes first).
int out_of_memory(const std::string& what) {
  std::string first = what.substr(0, what.find('\n'));
  if (first.size() > 160) first = first.substr(0, 157) + "...";
  std::cerr << "skipbench: error: out of memory (" << first << "); reduce train.micro_batch_size, model.max_seq_len "
               "or model.dim, or run fewer suite jobs at a time (--jobs)\n";
  return 4;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"skipbench: train, measure and compare Transformers that learn to skip layers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SKIPBENCH_VERSION);

  std::string config, out, mode = "reference", data_out = "data/default";
  const char* fortunes_env = std::getenv("SKIPBENCH_FORTUNES_DIR");  // where Debian's `fortunes` was unpacked
  std::string source = fortunes_env && *fortunes_env ? fortunes_env : "/usr/share/games/fortunes";
  std::vector<std::string> sets;
  std::vector<double> sparsity;

  auto* train_cmd = app.add_subcommand("train", "train one model; writes DIR/run.json and DIR/metrics.jsonl");
  train_cmd->add_option("--config", config, "config JSON (sections model, variant, train, data)")->required();
  train_cmd->add_option("--set", sets, "override a config value by dotted path, e.g. model.n_layers=6 (repeatable)");
  train_cmd->add_option("--out", out, "output directory")->required();
  int threads = 0;
  train_cmd->add_option("--threads", threads, "intra-op threads for this process (0: config or default)")
      ->check(CLI::Range(0, 4096));

  auto* variants_cmd = app.add_subcommand("variants", "list registered variants and gate controllers with options");

  auto* flops_cmd = app.add_subcommand("flops", "print estimated FLOPs by component (JSON)");
  flops_cmd->add_option("--config", config, "config JSON")->required();
  flops_cmd->add_option("--set", sets, "override a config value (repeatable)");
  flops_cmd->add_option("--mode", mode, "reference (the released code's formula) or standard (2/MAC, matmuls)")
      ->capture_default_str();
  flops_cmd->add_option("--sparsity", sparsity, "fraction of skipped tokens: one value, or one per layer")->expected(1, -1);

  auto* data_cmd = app.add_subcommand("data", "data sets");
  data_cmd->require_subcommand(1);
  auto* embed_cmd = data_cmd->add_subcommand("embed", "build the embedded default data set (Debian fortunes, bytes)");
  embed_cmd->add_option("--source", source, "directory of fortune files")->capture_default_str();
  embed_cmd->add_option("--out", data_out, "output directory")->capture_default_str();
  auto run_data_command = register_data_commands(*data_cmd);
  auto run_model_command = register_model_commands(app, run_python_helper);

  std::string run_dir, eval_data, eval_labels;
  bool hard_skip = false;
  int64_t max_batches = 0;
  auto* eval_cmd = app.add_subcommand("eval", "evaluate a trained run (soft gates, or real skipping with --hard-skip)");
  eval_cmd->add_option("--run", run_dir, "run directory (run.json + model.pt)")->required();
  eval_cmd->add_flag("--hard-skip", hard_skip, "compute each block only for tokens whose gate is non-zero there");
  eval_cmd->add_option("--data", eval_data, "shard glob (default: the run's validation data)");
  eval_cmd->add_option("--labels", eval_labels, "per-token difficulty labels aligned with --data (synthetic data)");
  eval_cmd->add_option("--max-batches", max_batches, "stop after N batches (0: all)");
  bool eval_causal = false;
  eval_cmd->add_flag("--causal", eval_causal,
                     "mod: route by the causal predictor instead of top-k over the sequence (eval_*_causal.json)");
  bool eval_exits = false;
  eval_cmd->add_flag("--exits", eval_exits,
                     "early exit: loss and measured time after every block (eval_exits.json; --repeat N timings)");
  int eval_repeat = 0;
  eval_cmd->add_option("--repeat", eval_repeat,
                       "with --hard-skip: N more soft and hard passes, interleaved, timed for the claims engine; "
                       "with --exits: N timings of every depth");
  std::string prune_run, prune_method = "influence", prune_out;
  int64_t prune_drop = 0;
  std::vector<int64_t> prune_blocks;
  auto* prune_cmd = app.add_subcommand(
      "prune", "static layer pruning of a trained dense run: drop K blocks by Block Influence or angular distance");
  prune_cmd->add_option("--run", prune_run, "the trained dense run (run.json + model.pt)")->required();
  prune_cmd->add_option("--drop", prune_drop, "how many blocks to remove")->required();
  prune_cmd->add_option("--method", prune_method, "influence (ShortGPT, default) or span (Gromov et al.)");
  prune_cmd->add_option("--blocks", prune_blocks, "drop these blocks instead (e.g. --blocks 2,3: the middle)")
      ->delimiter(',');
  prune_cmd->add_option("--data", eval_data, "shard glob to measure on (default: the run's validation data)");
  prune_cmd->add_option("--max-batches", max_batches, "measure on N batches (0: all)");
  prune_cmd->add_option("--out", prune_out, "the pruned run's directory")->required();
  int64_t heal_steps = 0;
  double heal_lr_scale = 0.1;
  prune_cmd->add_option("--heal-steps", heal_steps,
                        "then fine-tune the pruned model this many steps on the run's training data (OUT/healed)");
  prune_cmd->add_option("--heal-lr-scale", heal_lr_scale, "healing lr = this x the source run's lr of each group")
      ->capture_default_str();
  std::vector<std::string> calibrate_args;
  auto* claims_cmd = app.add_subcommand("claims", "the claims engine");
  claims_cmd->require_subcommand(1);
  auto* calibrate_cmd = claims_cmd->add_subcommand(
      "calibrate", "error rates and power of the claims engine on simulated suites ([--sims N] [--seed S] [--out F])");
  calibrate_cmd->allow_extras();
  calibrate_cmd->set_help_flag();  // --help reaches the Python helper, whose argparse lists its options
  auto* export_cmd = app.add_subcommand(
      "export", "a run's or suite's metrics.jsonl as a tidy CSV or TensorBoard event files (DIR --format "
                "csv|tensorboard [--out PATH]); TensorBoard, Aim and W&B read the event files");
  export_cmd->allow_extras();
  export_cmd->prefix_command();
  export_cmd->set_help_flag();  // --help reaches reports/export_metrics.py, whose argparse lists its options

  std::string suite_file, suite_out, report_dir, baseline;
  int jobs = 1;
  bool retry_failed = false, no_report = false, update_baseline = false;
  auto* suite_cmd = app.add_subcommand("suite", "ablation suites");
  suite_cmd->require_subcommand(1);
  auto* suite_run_cmd = suite_cmd->add_subcommand("run", "run (or resume) every run of a suite file, then report");
  suite_run_cmd->add_option("file", suite_file, "suite JSON (ablations/*.json)")->required();
  suite_run_cmd->add_option("--out", suite_out, "output directory")->required();
  suite_run_cmd->add_option("--jobs", jobs, "runs in parallel (threads are split between them)")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  suite_run_cmd->add_flag("--retry-failed", retry_failed, "run again the runs that failed earlier");
  suite_run_cmd->add_flag("--no-report", no_report, "do not render the report at the end");
  int64_t suite_task = -1;
  suite_run_cmd->add_option("--task", suite_task, "only the (run, seed) with this index (a Slurm array task; no report)");
  int nproc_per_run = 1;
  std::string torchrun_path;
  suite_run_cmd->add_option("--nproc-per-run", nproc_per_run,
                            "ranks per run: each run trains data parallel under torchrun (threads split over jobs x ranks)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  suite_run_cmd->add_option("--torchrun", torchrun_path,
                            "torchrun for --nproc-per-run (default: $SKIPBENCH_TORCHRUN, the project .venv's, PATH)");
  auto* suite_slurm_cmd = suite_cmd->add_subcommand("slurm", "write sbatch job arrays, one task per (run, seed)");
  SlurmOptions slurm;
  std::string slurm_file, slurm_out;
  suite_slurm_cmd->add_option("file", slurm_file, "suite JSON (ablations/*.json)")->required();
  suite_slurm_cmd->add_option("--out", slurm_out, "suite output directory (on a file system every node sees)")->required();
  suite_slurm_cmd->add_option("--partition", slurm.partition, "sbatch --partition");
  suite_slurm_cmd->add_option("--account", slurm.account, "sbatch --account");
  suite_slurm_cmd->add_option("--time", slurm.time, "sbatch --time per task (e.g. 02:00:00)");
  suite_slurm_cmd->add_option("--gpus-per-run", slurm.gpus_per_run, "GPUs per task (0 or 1)");
  suite_slurm_cmd->add_option("--cpus-per-task", slurm.cpus_per_task, "CPUs per task (OMP_NUM_THREADS)");
  suite_slurm_cmd->add_option("--max-concurrent", slurm.max_concurrent, "tasks running at once (%M; 0: no limit)");
  suite_slurm_cmd->add_option("--array-chunk", slurm.array_chunk, "tasks per job array (below MaxArraySize)");
  suite_slurm_cmd->add_option("--signal-seconds", slurm.signal_seconds,
                              "USR1 this long before the time limit: checkpoint and requeue");
  auto* suite_status_cmd = suite_cmd->add_subcommand("status", "list done / running / failed / pending runs");
  suite_status_cmd->add_option("dir", suite_out, "suite output directory")->required();
  auto* report_cmd = app.add_subcommand("report", "render DIR/report.{json,html,md} and figures for a suite directory");
  report_cmd->add_option("dir", report_dir, "suite output directory")->required();
  auto* regress_cmd = app.add_subcommand("regress", "compare a suite directory with a committed baseline");
  regress_cmd->add_option("--baseline", baseline, "baseline JSON (reports/baselines/*.json)")->required();
  regress_cmd->add_option("dir", report_dir, "suite output directory")->required();
  regress_cmd->add_flag("--update", update_baseline, "write the baseline from DIR instead of comparing");
  std::string regress_mode = "auto";
  BaselineOptions baseline_opts;
  regress_cmd->add_option("--mode", regress_mode,
                          "auto (exact on the baseline's machine type, else tolerance), exact, or tolerance")
      ->capture_default_str();
  regress_cmd->add_option("--spread", baseline_opts.spread_dirs,
                          "with --update: the same suite run on other kernels; tolerances = factor x its largest "
                          "difference from DIR (repeatable)");
  regress_cmd->add_option("--spread-factor", baseline_opts.factor, "with --update: the factor")->capture_default_str();

  ProfileOptions po;
  bool no_cupti = false;
  auto* profile_cmd = app.add_subcommand("profile", "profile training (or eval) steps per phase, layer and module");
  profile_cmd->add_option("--config", config, "config JSON")->required();
  profile_cmd->add_option("--set", sets, "override a config value (repeatable)");
  profile_cmd->add_option("--steps", po.steps, "profiled steps")->capture_default_str();
  profile_cmd->add_option("--warmup", po.warmup, "warm-up steps (not counted)")->capture_default_str();
  profile_cmd->add_option("--out", out, "output directory (profile.json)")->required();
  profile_cmd->add_flag("--eval", po.eval, "forward-only steps instead of training steps");
  profile_cmd->add_flag("--hard-skip", po.hard_skip, "with --eval: real skipping");
  profile_cmd->add_option("--run", po.run_dir, "with --eval: a trained run's weights");
  profile_cmd->add_flag("--nvtx", po.nvtx, "emit NVTX ranges (domain skipbench) for Nsight Systems");
  profile_cmd->add_flag("--sync", po.sync, "host timers synchronise the GPU at every range edge");
  profile_cmd->add_flag("--no-cupti", no_cupti, "do not start the CUPTI tracer (e.g. under ncu or nsys)");
  profile_cmd->add_flag("--ops", po.ops, "also time every operator (self time per ATen op / autograd node)");
  profile_cmd->add_flag("--ops-shapes", po.ops_shapes, "--ops with one row per operator and input shapes");

  data::SynthOptions so;
  std::string synth_out = "data/synthetic";
  auto* synth_cmd = data_cmd->add_subcommand("synth", "write synthetic copy/random data with difficulty labels");
  synth_cmd->add_option("--out", synth_out, "output directory")->capture_default_str();
  synth_cmd->add_option("--vocab", so.vocab, "vocabulary size")->capture_default_str();
  synth_cmd->add_option("--train-tokens", so.train_tokens, "training tokens")->capture_default_str();
  synth_cmd->add_option("--val-tokens", so.val_tokens, "validation tokens")->capture_default_str();
  synth_cmd->add_option("--copy-frac", so.copy_frac, "fraction of segments copied from earlier context")->capture_default_str();
  synth_cmd->add_option("--span-min", so.span_min, "shortest segment")->capture_default_str();
  synth_cmd->add_option("--span-max", so.span_max, "longest segment")->capture_default_str();
  synth_cmd->add_option("--lookback", so.lookback, "how far back a copy may start")->capture_default_str();
  synth_cmd->add_option("--seed", so.seed, "random seed")->capture_default_str();

  if (argc > 1 && argv[1][0] != '-') {  // a mistyped command: say which exist (CLI11 would say one is required)
    bool known = false;
    std::string names;
    for (const auto* c : app.get_subcommands([](CLI::App*) { return true; })) {
      known = known || c->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + c->get_name();
    }
    if (!known) {
      std::cerr << "skipbench: error: unknown command '" << argv[1] << "' (commands: " << names << ")\n";
      return 2;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "skipbench: error: " << e.what() << " (see skipbench --help)\n";
    return 2;
  }
  if ((*train_cmd || *flops_cmd || *profile_cmd) && config.empty()) {
    std::cerr << "skipbench: error: --config: must name a config file (e.g. configs/tiny.json)\n";
    return 2;
  }
  try {
    configure_host_allocator();  // before the first large tensor (harness/common/host_memory.h)
    if (*train_cmd) return cmd_train(config, sets, out, threads);
    if (*suite_run_cmd) return cmd_suite_run(suite_file, suite_out, jobs, retry_failed, !no_report, suite_task,
                                              nproc_per_run, torchrun_path);
    if (*suite_slurm_cmd) return cmd_suite_slurm(slurm_file, slurm_out, slurm);
    if (*suite_status_cmd) return cmd_suite_status(suite_out);
    if (*report_cmd) return render_report(report_dir);
    if (*profile_cmd) {
      if (po.hard_skip && !po.eval) throw Error("--hard-skip: only with --eval (real skipping is an inference path)");
      po.cupti = !no_cupti;
      auto rep = run_profile(load_config(config, sets), po, out);
      json::object shown{{"per_phase_s", rep.at("host_timers").at("per_phase_s")},
                         {"per_module_s", rep.at("host_timers").at("per_module_s")},
                         {"median_step_s", rep.at("median_step_s")},
                         {"cupti", rep.at("cupti")},
                         {"profile", out + "/profile.json"}};
      if (rep.contains("ops")) {  // the ten most expensive operators, ms per step
        json::object top;
        for (const auto& r : rep.at("ops").at("ops").as_array())
          if (top.size() < 10) top[r.at("name").as_string()] = r.at("ms_per_step");
        shown["top_ops_ms_per_step"] = top;
      }
      std::cout << pretty_json(shown);
      return 0;
    }
    if (*regress_cmd) return cmd_regress(baseline, report_dir, update_baseline, regress_mode, baseline_opts);
    if (*variants_cmd) return cmd_variants();
    if (*flops_cmd) return cmd_flops(config, sets, mode, sparsity);
    if (*embed_cmd) return cmd_data_embed(source, data_out);
    if (*synth_cmd) return cmd_data_synth(so, synth_out);
    if (const int rc = run_data_command(); rc >= 0) return rc;
    if (const int rc = run_model_command(); rc >= 0) return rc;
    if (*eval_cmd && eval_exits) {
      if (hard_skip) throw Error("--exits: not with --hard-skip (early exit runs every block of a shallower model)");
      if (eval_causal) throw Error("--exits: not with --causal");
      if (!eval_labels.empty()) throw Error("--exits: not with --labels (it measures loss and time per depth only)");
      if (max_batches < 0) throw Error("--max-batches: must be >= 0 (0: the whole split), got " + std::to_string(max_batches));
      if (eval_repeat < 0 || eval_repeat > 1000) throw Error("--repeat: must be in 0..1000, got " + std::to_string(eval_repeat));
      return cmd_eval_exits(run_dir, eval_data, max_batches, eval_repeat);
    }
    if (*eval_cmd) return cmd_eval(run_dir, hard_skip, eval_data, eval_labels, max_batches, eval_repeat, eval_causal);
    if (*prune_cmd) {
      if (!prune_blocks.empty()) prune_method = "blocks";
      return cmd_prune(prune_run, prune_drop, prune_method, prune_blocks, eval_data, max_batches, prune_out,
                       heal_steps, heal_lr_scale);
    }
    if (*calibrate_cmd) return run_python_helper("reports/claims_calibrate.py", calibrate_cmd->remaining());
    if (*export_cmd) return run_python_helper("reports/export_metrics.py", export_cmd->remaining());
  } catch (const Error& e) {
    std::cerr << "skipbench: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    if (dynamic_cast<const c10::OutOfMemoryError*>(&e) || what.find("can't allocate memory") != std::string::npos)
      return out_of_memory(what);
    std::cerr << "skipbench: error: " << what << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    return out_of_memory("std::bad_alloc");
  } catch (const std::exception& e) {
    std::cerr << "skipbench: error: " << e.what() << "\n";
    return 2;
  }
  return 2;
}

}  // namespace skipbench
