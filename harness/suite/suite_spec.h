// suite_spec.h: an ablation suite file (ablations/*.json) and its expansion into runs.
//   {"name": "...", "description": "...",
//    "base": "configs/tiny.json",                  // base config file, or omitted for the defaults
//    "set": {"train.val_every": 20, ...},           // dotted overrides for every run
//    "budget": {"kind": "tokens", "value": 1e6},    // steps | tokens | flops | wall_clock: matched across runs
//    "seeds": [0, 1],
//    "checkpoint_every": 25,                        // optional (default 25)
//    "groups": [{"name": "dense", "variant": "dense", "options": {...}, "controller": {"name": ..., "options": ...},
//                "set": {...}, "grid": {"model.n_layers": [2, 4, 6]}}, ...]}
// A group's "variant" other than the base's starts from no options; the base's own variant (named or not) keeps
// the base's options, and the group's "options" merge over them key by key. Each group expands to the cartesian
// product of its grid; each point runs once per seed, named
// "<group>-<key>_<value>..." in runs/<name>/seed<k>/. Everything is validated before any training starts: every
// run's config resolves and its variant, controller and data exist; errors name the file and JSON path.
// The parsing and expansion (suite_parse.cpp) needs no LibTorch, so a fuzzer can drive it (tests/fuzz/fuzz_suite.cpp);
// the checks against the registries, the machine's memory and the data (suite_spec.cpp) are passed in.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

#include "harness/config/config.h"

namespace skipbench {

struct SuiteRun {
  std::string name;   // group + grid values, e.g. "dense-n_layers_4"
  std::string group;
  uint64_t seed = 0;
  boost::json::object params;  // the grid values of this run (dotted key -> value)
  std::string dir;             // relative to the suite output: runs/<name>/seed<k>
  boost::json::object config;  // the merged config JSON (defaults + base + overrides)
};

struct Suite {
  std::string name, description, file;
  boost::json::object budget;
  std::vector<uint64_t> seeds;
  std::vector<SuiteRun> runs;
  boost::json::object to_json() const;  // DIR/suite.json (without the per-run configs)
};

// What a suite's runs are checked against beyond their configs; each throws Error, which parse_suite prefixes with
// the file and the JSON path of the group (and run). Empty functions check nothing.
struct SuiteChecks {
  std::function<void(const std::string& variant)> variant;   // a group's "variant" names a registered variant
  std::function<void(const Config& run)> run;                 // each resolved run: variant options, model, controller, data
};

// Parses and expands a suite document (torch-free); throws Error("<file>: <json path>: <what is expected>").
Suite parse_suite(const boost::json::value& root, const std::string& file, const SuiteChecks& checks);

// Reads `path` and parses it with every check (registries, memory estimate, data globs).
Suite load_suite(const std::string& path);

}  // namespace skipbench
