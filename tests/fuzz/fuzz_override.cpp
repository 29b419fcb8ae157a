// fuzz_override.cpp: libFuzzer target for `--set key=value` overrides: each input line is one assignment applied
// over the defaults, then the result is resolved, as `skipbench train --set ...` does. Every input must resolve or
// fail with skipbench::Error. Built by ci/fuzz.sh.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "harness/common/error.h"
#include "harness/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    auto root = skipbench::default_config_json();
    std::string line;
    while (std::getline(in, line)) skipbench::apply_override(root, line, "--set " + line);
    skipbench::config_from_json(root, "defaults with --set");
  } catch (const skipbench::Error&) {
  }
  return 0;
}
