// op_timer.h: where a step's host time goes, per ATen operator and autograd node: a RecordFunction observer that,
// while an OpTimer is recording, measures every operator's self time (inclusive time minus that of the operators
// it calls) and call count, on every thread. `skipbench profile --ops` puts the table into profile.json. On a CPU
// this is the kernel time (matrix products, the norms, softmax, copies...); on a GPU it is launch overhead only
// (kernel times come from CUPTI). `--ops-shapes` splits each operator's row by its input shapes. The observer costs about a microsecond per operator, which the step's
// wall-clock then includes.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>

namespace skipbench::prof {

class OpTimer {
 public:
  OpTimer();
  ~OpTimer();  // stops
  // clears the totals and starts observing; with_shapes: one row per (operator, input shapes), e.g.
  // "aten::copy_ [2048,128] [2048,128]", to tell which call of an operator costs the time
  void start(bool with_shapes = false);
  void stop();
  // {"ops": [{"name", "ms_per_step", "share", "calls_per_step"}, ...] (by self time, descending),
  //  "total_ms_per_step"}; top_n rows at most
  boost::json::object to_json(int64_t steps, size_t top_n = 40) const;

 private:
  uint64_t handle_ = 0;
  bool active_ = false;
};

}  // namespace skipbench::prof
