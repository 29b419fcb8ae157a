// json_field.h: typed, checked access into parsed JSON for every reader of a file skipbench wrote or a user gave it
// (run.json, checkpoint state, metrics.jsonl lines, suite.json, baselines, controller state). A JsonField carries
// the file's name and the JSON path down to the value it holds, so a missing key, a wrong type or a number that is
// not what was expected throws one skipbench::Error line that says where:
//   "runs/a/checkpoint/state.json: loader.epoch: expected an integer, got a string (\"x\")"
// instead of Boost.JSON's "not exact [boost.json:25 at value.hpp:2370 ...]" or "out of range" (issue 14, defect 8).
// A field points into the parsed value: keep the document alive while its fields are used.
#pragma once
#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace skipbench {

class JsonField {
 public:
  // The top of a document; `file` names it in errors (a path, or e.g. "metrics.jsonl line 12"). `path` names a
  // value taken out of a larger document (e.g. "controller" for a checkpoint's decoded controller state).
  JsonField(const boost::json::value& root, std::string file, std::string path = "");

  // A member that must be there: missing, or this value not an object, is an error.
  JsonField operator[](std::string_view key) const;
  // An element that must be there (this value an array of at least i + 1 elements).
  JsonField operator[](size_t i) const;
  // A member that may be absent (this value must still be an object); a null member counts as present.
  std::optional<JsonField> find(std::string_view key) const;
  bool has(std::string_view key) const;
  // The elements of an array, each named "path[i]".
  std::vector<JsonField> elements() const;

  bool is_null() const { return v_->is_null(); }
  const boost::json::value& value() const { return *v_; }
  const boost::json::object& object() const;
  const boost::json::array& array() const;
  std::string str() const;
  bool boolean() const;
  // Any JSON number (integers too); not null, not a string.
  double number() const;
  // A number, or null -> NaN (compact_json writes non-finite numbers as null).
  double number_or_nan() const;
  // An integer held exactly (an int64, a uint64 within range, or an integral double such as 1e3), in [lo, hi].
  int64_t integer(int64_t lo = INT64_MIN, int64_t hi = INT64_MAX) const;
  // An array of numbers (null elements -> NaN) / of integers.
  std::vector<double> doubles() const;
  std::vector<int64_t> ints() const;

  // "<file>: <path>" (path "(top level)" at the root).
  std::string where() const;
  // Throws Error("<file>: <path>: <what>").
  [[noreturn]] void fail(const std::string& what) const;

 private:
  JsonField(const boost::json::value* v, std::shared_ptr<const std::string> file, std::string path);
  [[noreturn]] void expected(const char* what) const;
  const boost::json::value* v_;
  std::shared_ptr<const std::string> file_;
  std::string path_;
};

// What kind of JSON value v is, for messages: "an integer", "a string", "null", ...
const char* json_kind_name(const boost::json::value& v);
const char* json_kind_name(boost::json::kind k);

}  // namespace skipbench
