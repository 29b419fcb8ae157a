// options.cpp: see options.h.
#include "harness/config/options.h"

#include <boost/json.hpp>

#include "harness/common/error.h"

namespace skipbench {
namespace json = boost::json;

namespace {
const char* kind_word(OptionSpec::Kind k) {
  switch (k) {
    case OptionSpec::Kind::Bool: return "boolean";
    case OptionSpec::Kind::Int: return "integer";
    case OptionSpec::Kind::Number: return "number";
    case OptionSpec::Kind::String: return "string";
    case OptionSpec::Kind::NumberOrList: return "number or list of numbers";
    case OptionSpec::Kind::Json: return "value";
  }
  return "?";
}
}  // namespace

json::object resolve_options(const std::string& plugin, const std::vector<OptionSpec>& specs,
                             const json::object& given, const std::string& where) {
  json::object out;
  for (const auto& s : specs) out[s.name] = s.default_value;
  for (const auto& kv : given) {
    const std::string key(kv.key());
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == key) spec = &s;
    if (!spec) {
      std::string known;
      for (const auto& s : specs) known += (known.empty() ? "" : ", ") + s.name;
      throw Error(where + "." + key + ": unknown option of '" + plugin + "' (known: " +
                  (known.empty() ? "none" : known) + ")");
    }
    const json::value& v = kv.value();
    const std::string path = where + "." + key;
    bool ok = false;
    json::value typed = v;
    switch (spec->kind) {
      case OptionSpec::Kind::Bool: ok = v.is_bool(); break;
      case OptionSpec::Kind::Int: ok = v.is_int64() || v.is_uint64(); break;
      case OptionSpec::Kind::Number:
        ok = v.is_number();
        if (ok) typed = v.to_number<double>();
        break;
      case OptionSpec::Kind::String:
        ok = v.is_string();
        if (ok && !spec->choices.empty()) {
          bool in = false;
          std::string list;
          for (const auto& c : spec->choices) {
            in = in || v.get_string() == c;
            list += (list.empty() ? "" : ", ") + c;
          }
          if (!in)
            throw Error(path + ": '" + std::string(v.get_string()) + "' is not a choice of '" + plugin +
                        "' (choose one of: " + list + ")");
        }
        break;
      case OptionSpec::Kind::Json: ok = true; break;
      case OptionSpec::Kind::NumberOrList:
        ok = v.is_number();
        if (v.is_array()) {
          ok = true;
          for (const auto& e : v.get_array()) ok = ok && e.is_number();
        }
        break;
    }
    if (!ok)
      throw Error(path + ": expected a " + std::string(kind_word(spec->kind)) + ", got " + json::serialize(v));
    out[key] = typed;
  }
  return out;
}

json::array describe_options(const std::vector<OptionSpec>& specs) {
  json::array a;
  for (const auto& s : specs) {
    json::object o{{"name", s.name}, {"type", kind_word(s.kind)}, {"default", s.default_value}, {"help", s.help}};
    if (!s.choices.empty()) {
      json::array c;
      for (const auto& x : s.choices) c.push_back(json::string(x));
      o["choices"] = c;
    }
    a.push_back(o);
  }
  return a;
}

double number_or(const json::value& v, double fallback) { return v.is_null() ? fallback : v.to_number<double>(); }

std::vector<double> number_or_list(const json::value& v, size_t n, const std::string& what) {
  if (v.is_number()) return std::vector<double>(n, v.to_number<double>());
  if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.size() != n)
      throw Error(what + ": expected one number or a list of " + std::to_string(n) + " numbers (one per layer), got " +
                  std::to_string(a.size()));
    std::vector<double> out;
    for (const auto& e : a) out.push_back(e.to_number<double>());
    return out;
  }
  throw Error(what + ": expected a number or a list of numbers");
}

}  // namespace skipbench
