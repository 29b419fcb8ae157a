// json_field.cpp: see json_field.h.
#include "harness/common/json_field.h"

#include <boost/json.hpp>
#include <cmath>
#include <limits>

#include "harness/common/error.h"
#include "harness/common/json_io.h"

namespace skipbench {
namespace json = boost::json;

const char* json_kind_name(const json::value& v) { return json_kind_name(v.kind()); }

const char* json_kind_name(json::kind k) {
  switch (k) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

JsonField::JsonField(const json::value& root, std::string file, std::string path)
    : v_(&root), file_(std::make_shared<const std::string>(std::move(file))), path_(std::move(path)) {}

JsonField::JsonField(const json::value* v, std::shared_ptr<const std::string> file, std::string path)
    : v_(v), file_(std::move(file)), path_(std::move(path)) {}

std::string JsonField::where() const { return *file_ + ": " + (path_.empty() ? std::string("(top level)") : path_); }

void JsonField::fail(const std::string& what) const { throw Error(where() + ": " + what); }

void JsonField::expected(const char* what) const {
  std::string shown = compact_json(*v_);  // numbers as written: 2.5, 1e+300 (not Boost's 2.5E0)
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  fail(std::string("expected ") + what + ", got " + json_kind_name(*v_) +
       (v_->is_object() || v_->is_array() ? std::string() : " (" + shown + ")"));
}

const json::object& JsonField::object() const {
  if (!v_->is_object()) expected("an object");
  return v_->get_object();
}

const json::array& JsonField::array() const {
  if (!v_->is_array()) expected("an array");
  return v_->get_array();
}

JsonField JsonField::operator[](std::string_view key) const {
  const auto* m = object().if_contains(key);
  const std::string path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  if (!m) JsonField(v_, file_, path).fail("missing");
  return JsonField(m, file_, path);
}

JsonField JsonField::operator[](size_t i) const {
  const auto& a = array();
  const std::string path = path_ + "[" + std::to_string(i) + "]";
  if (i >= a.size()) JsonField(v_, file_, path).fail("missing (the array has " + std::to_string(a.size()) + " elements)");
  return JsonField(&a[i], file_, path);
}

std::optional<JsonField> JsonField::find(std::string_view key) const {
  if (!object().contains(key)) return std::nullopt;
  return (*this)[key];
}

bool JsonField::has(std::string_view key) const { return object().contains(key); }

std::vector<JsonField> JsonField::elements() const {
  std::vector<JsonField> out;
  const auto& a = array();
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(JsonField(&a[i], file_, path_ + "[" + std::to_string(i) + "]"));
  return out;
}

std::string JsonField::str() const {
  if (!v_->is_string()) expected("a string");
  return std::string(v_->get_string());
}

bool JsonField::boolean() const {
  if (!v_->is_bool()) expected("true or false");
  return v_->get_bool();
}

double JsonField::number() const {
  if (!v_->is_number()) expected("a number");
  return v_->to_number<double>();
}

double JsonField::number_or_nan() const {
  if (v_->is_null()) return std::numeric_limits<double>::quiet_NaN();
  if (!v_->is_number()) expected("a number or null");
  return v_->to_number<double>();
}

int64_t JsonField::integer(int64_t lo, int64_t hi) const {
  int64_t x = 0;
  if (v_->is_int64()) {
    x = v_->get_int64();
  } else if (v_->is_uint64() && v_->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    x = static_cast<int64_t>(v_->get_uint64());
  } else if (v_->is_double() && std::floor(v_->get_double()) == v_->get_double() && std::abs(v_->get_double()) < 9e15) {
    x = static_cast<int64_t>(v_->get_double());
  } else {
    const bool integral_but_huge =
        v_->is_uint64() || (v_->is_double() && std::isfinite(v_->get_double()) && std::floor(v_->get_double()) == v_->get_double());
    expected(integral_but_huge ? "an integer within int64 range" : "an integer");
  }
  if (x < lo || x > hi)
    fail("must be " + (hi == INT64_MAX ? ">= " + std::to_string(lo)
                                       : "in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]") +
         ", got " + std::to_string(x));
  return x;
}

std::vector<double> JsonField::doubles() const {
  std::vector<double> out;
  for (const auto& e : elements()) out.push_back(e.number_or_nan());
  return out;
}

std::vector<int64_t> JsonField::ints() const {
  std::vector<int64_t> out;
  for (const auto& e : elements()) out.push_back(e.integer());
  return out;
}

}  // namespace skipbench
