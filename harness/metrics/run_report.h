// run_report.h: the files a training run leaves in its output directory.
//   run.json       one schema-versioned JSON document (config, provenance, curves, gate metrics, FLOPs, timing),
//                  written atomically at the end (and on divergence), so it is never half-written.
//   metrics.jsonl  one JSON object per line as the run goes: {"kind":"train",...} per step, {"kind":"val",...}
//                  per validation; flushed every line so it can be tailed.
#pragma once
#include <boost/json/object.hpp>
#include <fstream>
#include <string>

namespace skipbench {

constexpr const char* kRunSchema = "skipbench.run";
constexpr int64_t kRunSchemaVersion = 1;

class MetricsLog {
 public:
  MetricsLog(const std::string& path, bool append = false);  // truncates unless append
  void write(const boost::json::object& line);

 private:
  std::ofstream out_;
  std::string path_;
};

// Writes dir/run.json atomically; returns its path.
std::string write_run_report(const std::string& dir, const boost::json::object& report);

// Reads and checks a run.json (schema name and version); throws Error naming the file otherwise.
boost::json::object read_run_report(const std::string& path);

}  // namespace skipbench
