// fuzz_config.cpp: libFuzzer target for the run configuration's readers: arbitrary bytes as a config file (JSON
// with comments) merged over the defaults and resolved (config_from_json), the way `skipbench train --config`
// reads one. Every input must either resolve or fail with skipbench::Error; anything else (another exception, a
// crash, a sanitizer report) is a finding. Built by ci/fuzz.sh.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto root = skipbench::default_config_json();
    skipbench::merge_config_json(root, skipbench::parse_json_text(text, "fuzz.json"), "fuzz.json");
    skipbench::config_from_json(root, "fuzz.json");
  } catch (const skipbench::Error&) {
  }
  return 0;
}
