// ranges.h: named, nested ranges around the harness's work (training step and its phases, each block, and the
// gate / attention / FFN inside a block), feeding up to three instruments at once:
//   NVTX       (--nvtx) one domain "skipbench", so an Nsight Systems timeline shows the model's structure;
//   timers     host clock per range path, optionally synchronising the device at each edge (CPU profile path);
//   CUPTI      each range pushes its path id as a CUPTI external correlation id, so the tracer can attribute
//              every kernel to the innermost range open when it was launched.
// Off by default: a Range then costs one load and branch on a global flag.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace skipbench::prof {

struct Instruments {
  bool nvtx = false;
  bool timers = false;
  bool correlation = false;           // push CUPTI external correlation ids (the tracer sets this)
  std::function<void()> sync;         // called at every range edge when set (device synchronise)
  std::function<void(uint64_t)> push; // correlation push / pop, installed by the CUPTI tracer
  std::function<void()> pop;
};

extern bool g_active;  // any instrument on
void configure(Instruments instruments);
void disable();

// RAII range. `index` >= 0 appends ".<index>" to the name ("block.3").
class Range {
 public:
  explicit Range(const char* name, int64_t index = -1) {
    if (g_active) open(name, index);
  }
  ~Range() {
    if (opened_) close();
  }
  Range(const Range&) = delete;
  Range& operator=(const Range&) = delete;

 private:
  void open(const char* name, int64_t index);
  void close();
  bool opened_ = false;
};

// The same as a Range, opened and closed by hand: for ranges whose ends are events in different places, such as
// the autograd hooks that bracket each block's backward pass. Every push_range needs one pop_range on its thread.
void push_range(const char* name, int64_t index = -1);
void pop_range();

// While alive, a range opened on another thread that has no open range of its own nests under the innermost range
// of the thread that made this object. The trainer makes one inside "step/backward": on a GPU, autograd runs the
// backward pass (and the hooks that open each block's backward range) on its own device thread, whose ranges would
// otherwise sit at the top level. Host timers and CUPTI correlation ids then see "step/backward/block.N" on every
// device; NVTX ranges stay on the thread that pushed them (that is how Nsight shows threads).
class AdoptOtherThreads {
 public:
  AdoptOtherThreads();
  ~AdoptOtherThreads();
  AdoptOtherThreads(const AdoptOtherThreads&) = delete;
  AdoptOtherThreads& operator=(const AdoptOtherThreads&) = delete;

 private:
  std::string previous_;
  bool set_ = false;
};

struct RangeStats {
  double seconds = 0;  // inclusive host time
  int64_t count = 0;
};
// Timer totals by full path ("step/forward/block.3/attention"), since the last reset.
std::map<std::string, RangeStats> timer_totals();
void reset_timers();

// Every path a range has had, indexed by its correlation id (id i is paths()[i]).
std::vector<std::string> paths();

}  // namespace skipbench::prof
