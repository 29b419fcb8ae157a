// options.h: typed plugin options. A plugin (variant or gate controller) declares its options with defaults and,
// for strings, the allowed choices; resolve_options() fills defaults into what a config gave and refuses unknown
// keys, wrong types and values outside the choices, naming the plugin and the option.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace skipbench {

struct OptionSpec {
  // Number options whose default is null are optional ("unset"); Json options take any value the plugin checks.
  enum class Kind { Bool, Int, Number, String, NumberOrList, Json };
  std::string name;
  Kind kind;
  boost::json::value default_value;
  std::string help;
  std::vector<std::string> choices;  // String only; empty: any string
};

// `where` names the config location in errors, e.g. "variant.options" or "train.controller.options".
boost::json::object resolve_options(const std::string& plugin, const std::vector<OptionSpec>& specs,
                                    const boost::json::object& given, const std::string& where);

// A JSON description of specs for `skipbench variants` (name, type, default, choices, help).
boost::json::array describe_options(const std::vector<OptionSpec>& specs);

// Reads a Number option whose default may be null; `fallback` when it is null.
double number_or(const boost::json::value& v, double fallback);

// Reads an option that is either one number (for every layer) or a list of n numbers (one per layer).
std::vector<double> number_or_list(const boost::json::value& v, size_t n, const std::string& what);

}  // namespace skipbench
