// run_report.cpp: see run_report.h.
#include "harness/metrics/run_report.h"

#include <boost/json.hpp>

#include "harness/common/error.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"

namespace skipbench {

MetricsLog::MetricsLog(const std::string& path, bool append)
    : out_(path, append ? std::ios::app : std::ios::trunc), path_(path) {
  if (!out_) throw Error(path + ": cannot write metrics log (check the output directory)");
}

void MetricsLog::write(const boost::json::object& line) {
  out_ << compact_json(line) << '\n';
  out_.flush();
  // a torn last line is dropped when the run resumes (Run::open_metrics), so nothing before it is lost
  if (!out_) throw Error(path_ + ": write failed (disk full or read-only?); free space and run the same command "
                         "again: the run resumes from its last checkpoint");
}

std::string write_run_report(const std::string& dir, const boost::json::object& report) {
  const std::string path = dir + "/run.json";
  write_file_atomic(path, pretty_json(report));
  return path;
}

boost::json::object read_run_report(const std::string& path) {
  auto v = read_json_file(path);
  const auto* o = v.if_object();
  if (!o || !o->contains("schema") || o->at("schema") != kRunSchema)
    throw Error(path + ": not a skipbench run report (missing \"schema\": \"" + std::string(kRunSchema) + "\")");
  if (JsonField(v, path)["schema_version"].integer() != kRunSchemaVersion)
    throw Error(path + ": run report schema_version " + boost::json::serialize(o->at("schema_version")) +
                ", this build reads " + std::to_string(kRunSchemaVersion));
  return *o;
}

}  // namespace skipbench
