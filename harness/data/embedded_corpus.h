// embedded_corpus.h: the default data set, needing no download: the English text of Debian's `fortunes` package
// (quotations, jokes, literature snippets; /usr/share/games/fortunes), split into documents at its '%' lines,
// tokenised byte-level (token = byte value 0..255, plus 256 = end-of-text prefixed to each document, as
// modded-nanogpt prefixes GPT-2's EOT), every 20th document going to validation, written as llm.c shards.
#pragma once
#include <cstdint>
#include <string>

namespace skipbench::data {

constexpr int64_t kByteVocab = 257;  // 256 byte values + end-of-text
constexpr uint16_t kByteEot = 256;

struct CorpusSummary {
  int64_t documents = 0, train_tokens = 0, val_tokens = 0;
  std::string train_path, val_path, manifest_path;
};

// Builds out_dir/{train_000000.bin, val_000000.bin, manifest.json} from the fortune files in source_dir.
// Idempotent: the output is a pure function of the input files. Throws Error when source_dir has no text.
CorpusSummary build_embedded_corpus(const std::string& source_dir, const std::string& out_dir);

}  // namespace skipbench::data
