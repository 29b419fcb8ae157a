// fuzz_suite.cpp: libFuzzer target for the suite file reader: arbitrary bytes as a suite document (JSON with
// comments) parsed and expanded into runs (parse_suite: structure, budget, seeds, base and overrides, grids, run
// names, order), the way `skipbench suite run` reads ablations/*.json before its registry and data checks (which
// need LibTorch and are left out here). Every input must expand or fail with skipbench::Error; anything else (another
// exception, a crash, a sanitizer report, a grid that never ends) is a finding. Built by ci/fuzz.sh.
#include <boost/json.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/suite/suite_spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto root = skipbench::parse_json_text(text, "fuzz.json");
    // a suite's size is seeds x the sum over groups of each grid's product: cap it (a user's 10^6-run suite is no
    // finding, only slow)
    size_t points = 0, seeds = 1;
    if (root.is_object() && root.as_object().contains("seeds") && root.at("seeds").is_array())
      seeds = std::max<size_t>(1, root.at("seeds").as_array().size());
    if (root.is_object() && root.as_object().contains("groups") && root.at("groups").is_array())
      for (const auto& g : root.at("groups").as_array()) {
        size_t product = 1;
        if (g.is_object() && g.as_object().contains("grid") && g.at("grid").is_object())
          for (const auto& kv : g.at("grid").as_object())
            if (kv.value().is_array()) product = std::min<size_t>(product * std::max<size_t>(1, kv.value().as_array().size()), 1u << 20);
        points += product;
      }
    points *= seeds;
    if (points > 4096) return 0;
    const auto suite = skipbench::parse_suite(root, "fuzz.json", {});
    (void)suite.to_json();
  } catch (const skipbench::Error&) {
  }
  return 0;
}
