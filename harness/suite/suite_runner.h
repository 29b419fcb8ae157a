// suite_runner.h: runs every (run, seed) of a suite, each as a `skipbench train` subprocess (crash isolation,
// --jobs in parallel), and resumes after any interruption: a run with run.json is done and never re-run; a run
// with a checkpoint resumes from it; a run that crashed gets failed.json (reason, exit code) and the suite goes on.
// Ctrl-C stops the suite without marking the interrupted runs failed; the same command picks up where it stopped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "harness/suite/suite_spec.h"

namespace skipbench {

struct SuiteRunOptions {
  int jobs = 1;
  bool retry_failed = false;
  std::string self_exe;  // the skipbench binary to run `train` with
  int64_t task = -1;     // >= 0: only the (run, seed) with this index in suite.json's runs (a Slurm array task)
  // > 1: each run is data parallel over this many processes, launched as
  // `torchrun --standalone --nproc-per-node N --no-python skipbench train ...` (threads split over jobs x ranks)
  int nproc_per_run = 1;
  std::string torchrun;  // the torchrun executable (needed when nproc_per_run > 1)
};

// Every run of the suite can train data parallel over n ranks (its global batch splits into whole micro-batches
// per rank; no wall-clock budget); throws Error naming the suite file and the run otherwise.
void check_nproc_per_run(const Suite& suite, int n);

// Returns the number of runs that are not done (0: the suite is complete); with opts.task, 0 or 1 for that run.
// A trainer that exits 75 (stopped by a signal, checkpointed) stays pending; SIGTERM / SIGINT to the suite stops
// its trainers the same way.
int run_suite(const Suite& suite, const std::string& out_dir, const SuiteRunOptions& opts);

// Creates out_dir with suite.json and each run's directory and config.json (what run_suite starts with), refusing
// a directory that holds a different suite; trains nothing.
void prepare_suite_dir(const Suite& suite, const std::string& out_dir);

// `skipbench suite slurm`: sbatch job arrays, one task per (run, seed), each running `suite run FILE --task I`.
struct SlurmOptions {
  std::string partition, account, time;  // empty: the cluster's defaults
  int gpus_per_run = 0, cpus_per_task = 1, max_concurrent = 0;  // max_concurrent 0: no %M throttle
  int array_chunk = 1000;  // tasks per array (below the cluster's MaxArraySize, 1001 by default)
  int signal_seconds = 120;  // sbatch --signal=B:USR1@S: checkpoint and requeue this long before the time limit
  std::string self_exe, suite_file;  // absolute paths written into the scripts
};
// Writes out_dir/slurm/: array_<k>.sbatch per chunk, submit.sh (sbatch every chunk), tasks.tsv (index, run, seed,
// directory), logs/. Returns the paths of the sbatch files.
std::vector<std::string> write_slurm_arrays(const Suite& suite, const std::string& out_dir, const SlurmOptions& o);

struct RunState {
  std::string name, dir, state, detail;  // state: done | failed | running | pending
  uint64_t seed = 0;
};
// Reads DIR/suite.json and each run directory. Throws Error when DIR is not a suite directory.
std::vector<RunState> suite_status(const std::string& out_dir);

}  // namespace skipbench
