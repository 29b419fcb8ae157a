// cupti_tracer.h: a CUPTI Activity API tracer (CUDA 13): records every kernel, memcpy and memset with start, end,
// stream and correlation id, plus the external-correlation records that tie each launch to the harness range open
// when it was made (profiling/ranges.h pushes the ids, kind CUSTOM2: Kineto uses CUSTOM0/1). Buffers are
// requested and freed by the tracer; dropped records are counted and reported, never hidden.
// Coexistence with LibTorch's own CUPTI user (Kineto): only one activity consumer per process can work, so do not
// run the torch profiler while this tracer runs; skipbench never starts it. Under ncu/nsys, leave the tracer off.
// Built only with SKIPBENCH_WITH_CUDA; start() returns false with a reason when CUPTI is unusable (no driver, no
// GPU, another tool owns it), and callers fall back to host timers.
#pragma once
#include <string>
#include <vector>

#include "profiling/attribution.h"
#include "profiling/ranges.h"

namespace skipbench::prof {

class CuptiTracer {
 public:
  static bool compiled_in();   // false without SKIPBENCH_WITH_CUDA
  bool start(std::string* why_not);  // registers buffers, enables the activity kinds
  // Makes ranges push/pop their ids as CUPTI external correlation ids (pass the result to prof::configure).
  static void add_correlation(Instruments& inst);
  void stop();                 // flushes (the caller synchronises the device first), disables
  std::vector<ActivityRecord> records() const;
  std::vector<CorrelationRecord> correlations() const;
  uint64_t dropped() const;
  void clear();
};

}  // namespace skipbench::prof
