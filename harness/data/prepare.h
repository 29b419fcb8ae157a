// prepare.h: `skipbench data prepare` (text files -> BPE tokenizer + llm.c train/val shards + manifest) and
// `skipbench data inspect` (what a directory or glob of shards holds), as library calls so tests drive them.
//
// Documents: a text file is split into documents at separator lines: a blank line (empty or only whitespace) or a
// line that is exactly "%" (the fortune-file format). A document is the run of lines between separators, each line
// keeping its newline; runs of separators make no empty documents. With split = "file" the whole file is one
// document. Documents are numbered in source order (the --text arguments in order, each glob sorted); document i
// goes to validation when floor((i+1)*f) > floor(i*f) for the validation fraction f (every 20th document for
// f = 0.05), so the split does not depend on thread count or file sizes.
// Tokens: each document becomes [end-of-text id] + its BPE ids, concatenated per split, cut into shards of
// shard_tokens tokens (a document may continue in the next shard, as llm.c's fineweb.py does).
// The output is a pure function of the input files and the settings (any thread count gives identical files).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace skipbench::data {

struct PrepareOptions {
  std::vector<std::string> text;   // files or glob patterns
  std::string out;                 // output directory
  int64_t vocab = 0;               // BPE vocabulary to train (required unless `tokenizer` is given)
  std::string tokenizer;           // an existing sentencepiece model to reuse instead of training one
  double val_fraction = 0.05;      // in [0, 1)
  int threads = 0;                 // 0: hardware concurrency
  int64_t shard_tokens = 100'000'000;  // tokens per shard (modded-nanogpt's FineWeb shards hold 100M)
  std::string split = "paragraph";     // "paragraph" (blank or "%" lines) or "file"
  // Text the tokenizer trains on (a deterministic sample of training documents). sentencepiece keeps it all in
  // memory: 20 MB of source code took 25 s and 0.9 GB with vocab 8192.
  int64_t tokenizer_sample_bytes = 20'000'000;
  std::ostream* progress = nullptr;
};

struct PrepareSummary {
  int64_t documents = 0, train_documents = 0, val_documents = 0;
  int64_t train_tokens = 0, val_tokens = 0;  // including one end-of-text per document
  int64_t vocab_size = 0;
  int eot_id = 0;
  bool tokenizer_trained = false;
  std::vector<std::string> train_shards, val_shards;
  std::string tokenizer_path, manifest_path;
};

// Writes out/{train_NNNNNN.bin, val_NNNNNN.bin, tokenizer.model, manifest.json}. `out` may be new, empty, or an
// earlier prepare output (only files with these names), which is replaced; anything else there is refused.
// Throws Error naming the file or option at fault.
PrepareSummary prepare_data(const PrepareOptions& opts);

// The document rule above, on one file's text (views into `text`).
std::vector<std::string_view> split_documents(std::string_view text, bool whole_file);
// Whether document `index` is a validation document for fraction `val_ppm` / 1e6.
bool is_validation_document(int64_t index, int64_t val_ppm);

struct ShardReport {
  std::string path;
  int64_t file_bytes = 0;
  int32_t magic = 0, version = 0, header_tokens = 0;  // as stored (0 when the file is shorter than a header)
  bool ok = false;
  std::string error;       // why the shard is invalid
  int64_t tokens = 0;      // valid shards only, from here on
  int64_t distinct_ids = 0;
  int64_t max_id = -1;
  int64_t eot_count = -1;  // documents starting in this shard; -1 when the end-of-text id is unknown
};

struct InspectReport {
  std::vector<ShardReport> shards;
  int64_t total_tokens = 0, distinct_ids = 0, max_id = -1, invalid = 0;
  int64_t vocab_size = -1;  // from the manifest or tokenizer; -1 when unknown
  int eot_id = -1;
  std::string tokenizer;    // "path" of the sentencepiece model, "bytes" for byte-level data, "" for none
  std::string vocab_source;
  std::string sample_shard, sample_text;  // decoded first tokens of the first valid shard
  std::vector<int> sample_ids;
  bool problems() const { return invalid > 0 || (vocab_size > 0 && max_id >= vocab_size); }
};

// Inspects DIR (its *.bin) or a glob of shards. The tokenizer is `tokenizer` when given, else the one a manifest.json
// beside the shards names, else a single *.model there; byte-level data (the embedded corpus) decodes as bytes.
// Invalid shards are reported, not thrown; throws Error when nothing matches.
InspectReport inspect_data(const std::string& dir_or_glob, const std::string& tokenizer = "",
                           int64_t sample_tokens = 64);
std::string format_inspect(const InspectReport& r);
std::string inspect_json(const InspectReport& r);

}  // namespace skipbench::data
