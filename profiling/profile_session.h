// profile_session.h: `skipbench profile`: W warm-up and N profiled steps of training (or, with eval, forward-only
// steps, optionally with hard skip), with every harness range instrumented. On a GPU with CUPTI, kernel times are
// attributed to ranges by the tracer; everywhere, host timers measure the same ranges (synchronising the device at
// each range edge when asked), so every machine produces the same tables. Output: DIR/profile.json with per-step
// wall-clock, and per phase, per layer and per module times, kernel counts and top kernels.
#pragma once
#include <boost/json/object.hpp>
#include <string>

#include "harness/config/config.h"

namespace skipbench {

struct ProfileOptions {
  int64_t steps = 10, warmup = 3;
  bool eval = false, hard_skip = false;
  bool nvtx = false;
  bool sync = false;       // host timers synchronise the device at every range edge (accurate, slower)
  bool cupti = true;       // use the CUPTI tracer when compiled in and a GPU is present
  bool ops = false;        // time every operator as well (op_timer.h): report["ops"]
  bool ops_shapes = false; // with ops: one row per (operator, input shapes)
  std::string run_dir;     // eval: load this trained run's weights (default: the config's fresh model)
};

// Builds profile.json from range timer totals (exposed for tests): per phase / layer / module tables.
boost::json::object profile_tables(const std::map<std::string, double>& seconds_by_path,
                                   const std::map<std::string, int64_t>& count_by_path, int64_t steps);

boost::json::object run_profile(const Config& cfg, const ProfileOptions& opts, const std::string& out_dir);

}  // namespace skipbench
