// fuzz_json_state.cpp: libFuzzer target for the JSON readers of run state (checkpoint state.json, run.json,
// baselines): parse_json_text with comments, then the exact-number encoding round trip that checkpoints use
// (restore_numbers(exact_numbers(v)) must give v back) and the dotted-path lookup. Every input must parse or fail
// with skipbench::Error. Built by ci/fuzz.sh.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "harness/common/error.h"
#include "harness/common/json_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto v = skipbench::parse_json_text(text, "state.json");
    auto back = skipbench::restore_numbers(skipbench::exact_numbers(v));
    if (back != v) std::abort();  // the checkpoint encoding lost information (parse_json_text refuses NaN / inf)
    (void)skipbench::find_path(v, "loader.position");
    (void)skipbench::json_doubles(v);
    (void)skipbench::json_ints(v);
  } catch (const skipbench::Error&) {
  }
  return 0;
}
