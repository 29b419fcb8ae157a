// suite_runner.cpp: see suite_runner.h.
#include "harness/suite/suite_runner.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <thread>

#include "harness/common/error.h"
#include "harness/config/config.h"
#include "harness/common/file_lock.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"
#include "harness/metrics/run_report.h"

namespace skipbench {
namespace json = boost::json;

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

int64_t file_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  return in ? static_cast<int64_t>(in.tellg()) : 0;
}

// What a trainer wrote to its log since `from` (bytes): a torchrun-launched run's own exit code is torchrun's (1
// on any worker's non-zero exit), so a stop by a signal (the trainer's exit 75) is read from rank 0's line.
bool stopped_since(const std::string& log, int64_t from) {
  std::ifstream in(log, std::ios::binary);
  in.seekg(from);
  std::string line;
  while (std::getline(in, line))
    if (line.find("stopped by a signal after step") != std::string::npos) return true;
  return false;
}

std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \r\t") != std::string::npos) last = line;
  return last;
}


// A run record's status ("completed", "diverged", ...), or "" when it cannot be read.
std::string record_status(const std::string& run_json) {
  try {
    const json::value v = read_run_report(run_json);
    return JsonField(v, run_json)["status"].str();
  } catch (const Error&) {
    return "";
  }
}

// Why a finished run's record cannot be read (truncated, not a run report, no status), or nothing when it can.
std::optional<std::string> damaged_record(const std::string& run_json) {
  try {
    const json::value v = read_run_report(run_json);
    (void)JsonField(v, run_json)["status"].str();
    return std::nullopt;
  } catch (const Error& e) {
    return std::string(e.what());
  }
}

// A config resolved before some key joined the defaults: `before` plus each key it lacks that `now` holds at the
// default's value (compared as json_diff does: numbers by value). An absent key means its default (config.cpp), so
// when the result equals `now` the run is the same experiment.
json::value with_added_defaults(const json::value& before, const json::value& now, const json::value& dflt) {
  if (!before.is_object() || !now.is_object() || !dflt.is_object()) return before;
  json::object out = before.as_object();
  for (const auto& kv : now.as_object()) {
    const auto* d = dflt.as_object().if_contains(kv.key());
    if (!d) continue;
    if (auto* b = out.if_contains(kv.key())) *b = with_added_defaults(*b, kv.value(), *d);
    else if (json_diff(*d, kv.value(), 1).empty()) out[kv.key()] = kv.value();
  }
  return out;
}

// The output directory's suite.json against this suite: the same runs with the same resolved configs (checksums)
// and budget, or an Error naming the first difference (run and config keys) and the fix. Never overwrite: finished
// runs of another experiment would be counted as this one's. A run resolved before a key joined the defaults
// (its config.json lacks the key) is the same run when this suite asks for the key's default.
void refuse_changed_suite(const std::string& spec_path, const std::string& out, const json::object& spec,
                          const Suite& suite) {
  const auto old = read_json_file(spec_path);
  const JsonField o(old, spec_path);
  if (!old.is_object() || !o.has("runs") || !o["runs"].value().is_array() || !o.has("budget"))
    throw Error(spec_path + ": not a suite.json written by skipbench (no runs/budget); use another --out");
  const auto* old_budget = &o["budget"].value();
  const std::string fix = "; run the changed suite with another --out (or restore the suite file)";
  if (*old_budget != spec.at("budget"))
    throw Error(spec_path + ": " + out + " holds this suite with another budget (" + json::serialize(*old_budget) +
                " -> " + json::serialize(spec.at("budget")) + ")" + fix);
  std::map<std::string, json::object> before;
  for (const auto& r : o["runs"].elements()) before[r["dir"].str()] = r.object();
  const json::value defaults = default_config_json();
  for (const auto& r : suite.runs) {
    auto it = before.find(r.dir);
    if (it == before.end())
      throw Error(spec_path + ": " + out + " holds another suite: run " + r.name + " seed " + std::to_string(r.seed) +
                  " is new" + fix);
    const auto* h = it->second.if_contains("config_fnv1a64");
    const json::value now = spec.at("runs").as_array()[&r - suite.runs.data()].at("config_fnv1a64");
    if (!h || *h != now) {
      std::string keys;
      const std::string cfg = fs::join(fs::join(out, r.dir), "config.json");
      if (fs::exists(cfg)) {
        const json::value old_cfg = read_json_file(cfg);
        if (json_diff(with_added_defaults(old_cfg, r.config, defaults), r.config, 1).empty()) {
          before.erase(it);  // resolved before a key joined the defaults, and this suite asks for its default
          continue;
        }
        for (const auto& d : json_diff(old_cfg, r.config)) keys += (keys.empty() ? "" : "; ") + d;
      }
      throw Error(spec_path + ": run " + r.name + " seed " + std::to_string(r.seed) + " was resolved from another config" +
                  (keys.empty() ? "" : " (" + keys + ")") + fix);
    }
    before.erase(it);
  }
  if (!before.empty())
    throw Error(spec_path + ": " + out + " holds another suite: run " + before.begin()->first +
                " is gone from it" + fix);
}

}  // namespace

void prepare_suite_dir(const Suite& suite, const std::string& out) {
  fs::make_dirs(out);
  const std::string spec_path = fs::join(out, "suite.json");
  const json::object spec = suite.to_json();
  if (fs::exists(spec_path)) refuse_changed_suite(spec_path, out, spec, suite);
  write_file_atomic(spec_path, pretty_json(spec));
  for (const auto& r : suite.runs) {
    const std::string dir = fs::join(out, r.dir);
    fs::make_dirs(dir);
    write_file_atomic(fs::join(dir, "config.json"), pretty_json(r.config));
  }
}

void check_nproc_per_run(const Suite& suite, int n) {
  if (n < 1) throw Error("--nproc-per-run: must be >= 1, got " + std::to_string(n));
  if (n == 1) return;
  for (const auto& r : suite.runs) {
    const Config c = config_from_json(r.config, suite.file + ": run " + r.name);
    const std::string where = suite.file + ": run " + r.name + " seed " + std::to_string(r.seed) + ": ";
    if (c.train.batch_size % (c.train.micro_batch_size * n) != 0)
      throw Error(where + "train.batch_size " + std::to_string(c.train.batch_size) + " is not a multiple of " +
                  "train.micro_batch_size (" + std::to_string(c.train.micro_batch_size) + ") x --nproc-per-run (" +
                  std::to_string(n) + "); lower micro_batch_size or choose another --nproc-per-run");
    if (c.train.budget_kind == "wall_clock")
      throw Error(where + "budget.kind wall_clock cannot run with --nproc-per-run > 1 (each rank's clock would stop "
                          "it at another step); use a steps, tokens or flops budget");
  }
}

int run_suite(const Suite& suite, const std::string& out, const SuiteRunOptions& opts) {
  check_nproc_per_run(suite, opts.nproc_per_run);
  if (opts.nproc_per_run > 1 && ::access(opts.torchrun.c_str(), X_OK) != 0)
    throw Error("--nproc-per-run " + std::to_string(opts.nproc_per_run) + ": torchrun not found at '" + opts.torchrun +
                "'; run bash ci/setup.sh (the project .venv has it) or pass --torchrun PATH");
  if (opts.task >= static_cast<int64_t>(suite.runs.size()))
    throw Error("--task " + std::to_string(opts.task) + ": the suite has " + std::to_string(suite.runs.size()) +
                " (run, seed) tasks, 0.." + std::to_string(static_cast<int64_t>(suite.runs.size()) - 1));
  prepare_suite_dir(suite, out);

  // what is left to do
  std::vector<const SuiteRun*> todo;
  int done = 0, failed = 0;
  for (const auto& r : suite.runs) {
    if (opts.task >= 0 && &r - suite.runs.data() != opts.task) continue;
    const std::string dir = fs::join(out, r.dir);
    if (fs::exists(fs::join(dir, "run.json"))) {
      if (const auto damage = damaged_record(fs::join(dir, "run.json"))) {  // not done: a truncated file once was
        std::cerr << "  FAILED " << r.name << " seed " << r.seed << ": " << *damage << "; remove " << dir
                  << " to train this run again\n";
        ++failed;
      } else {
        ++done;
      }
    } else if (fs::exists(fs::join(dir, "failed.json")) && !opts.retry_failed) {
      ++failed;
    } else {
      std::remove(fs::join(dir, "failed.json").c_str());
      todo.push_back(&r);
    }
  }
  std::cerr << "skipbench suite " << suite.name << ": " << (opts.task >= 0 ? "task " + std::to_string(opts.task) + " of " : std::string())
            << suite.runs.size() << " runs, " << done << " done, "
            << failed << " failed earlier" << (failed && !opts.retry_failed ? " (--retry-failed to retry)" : "")
            << ", " << todo.size() << " to run, " << opts.jobs << " at a time -> " << out << "\n";

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const int nproc = std::max(1, opts.nproc_per_run);
  const int threads = std::max(1, static_cast<int>(cores) / (std::max(1, opts.jobs) * nproc));
  std::map<pid_t, const SuiteRun*> running;
  std::map<pid_t, int64_t> log_start;  // each trainer's log size at its start
  size_t next = 0;
  int finished = 0, total = static_cast<int>(todo.size());
  auto launch = [&](const SuiteRun* r) {
    const std::string dir = fs::join(out, r->dir);
    const std::string log = fs::join(dir, "train.log");
    // a trainer left running by a suite killed earlier still holds the run's lock: wait for it to exit (it got
    // SIGTERM when that suite died; see below) rather than train the same directory twice
    const std::string lock = fs::join(dir, "train.lock");
    for (int i = 0; i < 600 && FileLock::held(lock); ++i) {
      if (i == 0) std::cerr << "  wait   " << r->name << " seed " << r->seed << ": an earlier trainer (pid "
                            << FileLock::holder(lock) << ") is still in " << dir << "\n";
      ::usleep(100000);
    }
    const pid_t parent = ::getpid();
    const int64_t start_size = file_size(log);
    pid_t pid = ::fork();
    if (pid == 0) {
      // the trainer dies with the suite (SIGTERM: it stops, and the next suite resumes it from its checkpoint)
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(1);  // the suite died before prctl took effect
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      ::dup2(STDERR_FILENO, STDOUT_FILENO);
      const std::string cfg = fs::join(dir, "config.json"), th = std::to_string(threads);
      // An explicit OpenMP thread count: with it unset, libgomp's spin-waiting threads slowed training up to 20x
      // when other processes shared the 2 cores (measured on the CI machine type; see benchmarks/RESULTS.md).
      if (!std::getenv("OMP_NUM_THREADS")) ::setenv("OMP_NUM_THREADS", th.c_str(), 1);
      if (nproc > 1) {  // torchrun's agent starts the ranks (a free port on this host) and forwards SIGTERM to them
        const std::string np = std::to_string(nproc);
        ::execl(opts.torchrun.c_str(), opts.torchrun.c_str(), "--standalone", "--nproc-per-node", np.c_str(),
                "--max-restarts", "0", "--no-python", opts.self_exe.c_str(), "train", "--config", cfg.c_str(),
                "--out", dir.c_str(), "--threads", th.c_str(), static_cast<char*>(nullptr));
        std::perror("exec torchrun");
        ::_exit(127);
      }
      ::execl(opts.self_exe.c_str(), opts.self_exe.c_str(), "train", "--config", cfg.c_str(), "--out", dir.c_str(),
              "--threads", th.c_str(), static_cast<char*>(nullptr));
      std::perror("exec skipbench");
      ::_exit(127);
    }
    if (pid < 0) throw Error("cannot start a training process (fork failed)");
    running[pid] = r;
    log_start[pid] = start_size;
    std::cerr << "  start  " << r->name << " seed " << r->seed << "  (log: " << log << ")\n";
  };
  bool forwarded = false;
  while ((next < todo.size() || !running.empty())) {
    while (!g_interrupted && next < todo.size() && static_cast<int>(running.size()) < std::max(1, opts.jobs))
      launch(todo[next++]);
    if (running.empty()) break;
    if (g_interrupted && !forwarded) {
      // stop the trainers too: each checkpoints after its step in progress and exits 75 (resumable); a Ctrl-C
      // in a terminal reached them already, a SIGTERM to the suite alone (Slurm) did not
      for (const auto& [p, r] : running) ::kill(p, SIGTERM);
      forwarded = true;
    }
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const SuiteRun* r = it->second;
    running.erase(it);
    const int64_t log_from = log_start[pid];
    const std::string dir = fs::join(out, r->dir);
    ++finished;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      std::cerr << "  done   " << r->name << " seed " << r->seed << " [" << finished << "/" << total << "]\n";
    } else if (WIFEXITED(status) && fs::exists(fs::join(dir, "run.json")) &&
               (WEXITSTATUS(status) == 3 || (nproc > 1 && record_status(fs::join(dir, "run.json")) == "diverged"))) {
      // 3: the trainer's exit code for a diverged run; under torchrun (exit 1 for any failed worker) the record says
      std::cerr << "  FAILED " << r->name << " seed " << r->seed << ": diverged (see run.json)\n";
    } else if (g_interrupted || (WIFEXITED(status) && WEXITSTATUS(status) == 75) ||
               (nproc > 1 && !fs::exists(fs::join(dir, "run.json")) && stopped_since(fs::join(dir, "train.log"), log_from))) {
      // 75: the trainer was stopped by a signal and checkpointed after its step in progress
      std::cerr << "  stopped " << r->name << " seed " << r->seed << " (resumes from its last checkpoint)\n";
    } else if (fs::exists(fs::join(dir, "run.json"))) {
      // killed after it had written its record (run.json is written atomically, last): the run is done; a
      // failed.json beside it would contradict it (found by ci/kill_matrix.sh)
      std::cerr << "  done   " << r->name << " seed " << r->seed << " [" << finished << "/" << total
                << "] (its trainer was killed after writing run.json)\n";
    } else {
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      std::string reason = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                               : last_line(fs::join(dir, "train.log"));
      if (code == 127)
        reason = "could not start " + (nproc > 1 ? opts.torchrun : opts.self_exe) + " (rebuilt or removed while the suite ran?)";
      if (reason.empty()) reason = "exit code " + std::to_string(code) + " (see train.log)";
      write_file_atomic(fs::join(dir, "failed.json"),
                        pretty_json(json::object{{"reason", reason}, {"exit_code", code}}));
      std::cerr << "  FAILED " << r->name << " seed " << r->seed << ": " << reason << "\n";
    }
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  int left = 0;
  const auto states = suite_status(out);
  for (size_t i = 0; i < states.size(); ++i)
    if (opts.task < 0 || static_cast<int64_t>(i) == opts.task) left += states[i].state != "done";
  if (g_interrupted) {
    std::cerr << "skipbench suite: interrupted; run the same command again to resume\n";
    g_interrupted = 0;
    return left > 0 ? left : 1;
  }
  return left;
}

std::vector<RunState> suite_status(const std::string& out) {
  const std::string spec_path = fs::join(out, "suite.json");
  if (!fs::exists(spec_path)) throw Error(out + ": not a suite directory (no suite.json; run `skipbench suite run`)");
  const json::value doc = read_json_file(spec_path);
  const JsonField spec(doc, spec_path);
  std::vector<RunState> states;
  for (const auto& r : spec["runs"].elements()) {
    RunState s;
    s.name = r["name"].str();
    s.seed = static_cast<uint64_t>(r["seed"].integer(0));
    s.dir = fs::join(out, r["dir"].str());
    const std::string run_json = fs::join(s.dir, "run.json");
    if (fs::exists(run_json)) {
      try {
        const json::value rv = read_run_report(run_json);
        const JsonField rep(rv, run_json);
        if (rep["status"].str() == "completed") {
          s.state = "done";
          const double vl = rep["final"]["val_loss"].number_or_nan();
          s.detail = "val_loss " + (std::isnan(vl) ? std::string("-") : std::to_string(vl));
        } else {
          s.state = "failed";
          s.detail = rep["status"].str() + (rep.has("failure") ? ": " + rep["failure"].str() : "");
        }
      } catch (const Error& e) {  // damaged after it was written (run.json is written atomically): not done
        s.state = "failed";
        s.detail = std::string(e.what()) + "; remove " + s.dir + " to train this run again";
      }
    } else if (fs::exists(fs::join(s.dir, "failed.json"))) {
      s.state = "failed";
      const std::string fj = fs::join(s.dir, "failed.json");
      try {
        const json::value fv = read_json_file(fj);
        s.detail = JsonField(fv, fj)["reason"].str();
      } catch (const Error& e) {
        s.detail = e.what();
      }
    } else {
      // running: a trainer holds the run's lock (released by the kernel however the trainer ends)
      s.state = FileLock::held(fs::join(s.dir, "train.lock")) ? "running" : "pending";
      const std::string ck = fs::join(s.dir, "checkpoint/state.json");
      if (fs::exists(ck)) {
        try {
          const json::value cv = read_json_file(ck);
          s.detail = "checkpoint after step " + std::to_string(JsonField(cv, ck)["step"].integer(0));
        } catch (const Error& e) {
          s.detail = std::string("checkpoint unreadable: ") + e.what();
        }
      }
    }
    states.push_back(s);
  }
  return states;
}

}  // namespace skipbench
