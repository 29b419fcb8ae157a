// suite_runner.h: runs every (run, seed) of a suite, each as a `skipbench train` subprocess (crash isolation,
// --jobs in parallel), and resumes after any interruption: a run with run.json is done and never re-run; a run
// with a checkpoint resumes from it; a run that crashed gets failed.json (reason, exit code) and the suite goes on.
// Ctrl-C stops the suite without marking the interrupted runs failed; the same command picks up where it stopped.
#pragma once
#include <string>
#include <vector>

#include "harness/suite/suite_spec.h"

namespace skipbench {

struct SuiteRunOptions {
  int jobs = 1;
  bool retry_failed = false;
  std::string self_exe;  // the skipbench binary to run `train` with
};

// Returns the number of runs that are not done (0: the suite is complete).
int run_suite(const Suite& suite, const std::string& out_dir, const SuiteRunOptions& opts);

struct RunState {
  std::string name, dir, state, detail;  // state: done | failed | running | pending
  uint64_t seed = 0;
};
// Reads DIR/suite.json and each run directory. Throws Error when DIR is not a suite directory.
std::vector<RunState> suite_status(const std::string& out_dir);

}  // namespace skipbench
