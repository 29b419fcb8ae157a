// fuzz_shard.cpp: libFuzzer target for token-shard validation (the llm.c header and the tokens, as the loader
// opens every shard): arbitrary bytes, the first byte choosing the vocabulary size. Every input must validate or
// fail with skipbench::Error; a validated shard's count must match its size. Built by ci/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "harness/common/error.h"
#include "harness/data/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int64_t vocab = 1 + static_cast<int64_t>(data[0]) * 257;
  try {
    const size_t n = skipbench::data::validate_shard(data + 1, size - 1, vocab, "fuzz.bin");
    if (skipbench::data::kHeaderBytes + 2 * n != size - 1) std::abort();  // accepted a shard of the wrong size
  } catch (const skipbench::Error&) {
  }
  return 0;
}
