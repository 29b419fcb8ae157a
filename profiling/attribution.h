// attribution.h: turns GPU activity records into per-range tables. Each kernel (or memcpy/memset) record carries
// the correlation id of the API call that launched it; an external-correlation record maps that id to the range id
// the harness pushed when the call was made (the innermost open range); range ids map to paths such as
// "step/forward/block.3/attention". Totals are inclusive: a kernel counts for its range and every ancestor.
// Pure data in, tables out: tested on synthetic records, no GPU needed.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace skipbench::prof {

struct ActivityRecord {
  enum class Kind { kernel, memcpy, memset } kind = Kind::kernel;
  uint64_t correlation_id = 0;
  uint64_t start_ns = 0, end_ns = 0;
  uint32_t stream = 0;
  std::string name;  // kernel name (mangled), or "memcpy HtoD" etc.
};

struct CorrelationRecord {
  uint64_t correlation_id = 0;
  uint64_t external_id = 0;  // the range id
};

struct PathTotals {
  double gpu_s = 0;      // inclusive
  double self_gpu_s = 0; // records attributed to exactly this range
  int64_t records = 0;   // inclusive count
  std::map<std::string, std::pair<double, int64_t>> by_name;  // self: name -> (seconds, count)
};

struct Attribution {
  std::map<std::string, PathTotals> by_path;  // "(unattributed)" for records outside any range
  double total_gpu_s = 0;
  int64_t total_records = 0;
  boost::json::object to_json(size_t top_kernels = 5) const;
};

// paths[i] is the path of range id i.
Attribution attribute(const std::vector<ActivityRecord>& records, const std::vector<CorrelationRecord>& corr,
                      const std::vector<std::string>& paths);

}  // namespace skipbench::prof
