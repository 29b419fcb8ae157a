// data_commands.cpp: see data_commands.h. The options live in a shared state object so the returned function can
// run whichever subcommand CLI11 parsed; the work is in harness/data/prepare.{h,cpp}.
#include "cli/data_commands.h"

#include <iostream>
#include <memory>

#include "harness/data/prepare.h"

namespace skipbench {

namespace {
struct DataCommandState {
  data::PrepareOptions prepare;
  CLI::App* prepare_cmd = nullptr;
  std::string inspect_arg, inspect_tokenizer;
  int64_t sample_tokens = 64;
  bool inspect_json = false;
  CLI::App* inspect_cmd = nullptr;
};

int run_prepare(const data::PrepareOptions& o) {
  data::PrepareOptions opts = o;
  opts.progress = &std::cerr;
  const auto s = data::prepare_data(opts);
  std::cout << "prepared " << opts.out << ": " << s.documents << " documents (" << s.val_documents
            << " validation), " << s.train_tokens << " training tokens in " << s.train_shards.size() << " shard(s), "
            << s.val_tokens << " validation tokens in " << s.val_shards.size() << " shard(s)\n"
            << "tokenizer: " << s.tokenizer_path << " (" << (s.tokenizer_trained ? "trained, " : "reused, ")
            << s.vocab_size << " pieces, end-of-text id " << s.eot_id << "); manifest: " << s.manifest_path << "\n"
            << "train on it with: --set model.vocab_size=" << s.vocab_size << " --set data.train='" << opts.out
            << "/train_*.bin' --set data.val='" << opts.out << "/val_*.bin'\n";
  return 0;
}

int run_inspect(const DataCommandState& st) {
  const auto r = data::inspect_data(st.inspect_arg, st.inspect_tokenizer, st.sample_tokens);
  std::cout << (st.inspect_json ? data::inspect_json(r) + "\n" : data::format_inspect(r));
  return r.problems() ? 1 : 0;
}
}  // namespace

std::function<int()> register_data_commands(CLI::App& data) {
  auto st = std::make_shared<DataCommandState>();
  auto& p = st->prepare;
  auto* prep = data.add_subcommand(
      "prepare",
      "tokenise text files into llm.c shards: train a byte-fallback BPE tokenizer (sentencepiece) or reuse one, "
      "write DIR/{train,val}_NNNNNN.bin, DIR/tokenizer.model and DIR/manifest.json. Documents end at blank lines or "
      "'%' lines; each starts with the end-of-text id; every 1/f-th document is validation");
  prep->add_option("--text", p.text, "text files or globs (quote globs), in order")->required()->expected(1, -1);
  prep->add_option("--vocab", p.vocab, "BPE vocabulary size to train (at most 65535: shards hold uint16 ids)");
  prep->add_option("--out", p.out, "output directory (new, empty, or an earlier prepare output)")->required();
  prep->add_option("--tokenizer", p.tokenizer, "reuse this sentencepiece .model instead of training one");
  prep->add_option("--val-fraction", p.val_fraction, "fraction of documents held out for validation")
      ->capture_default_str();
  prep->add_option("--threads", p.threads, "tokenising threads (0: all cores)")->capture_default_str();
  prep->add_option("--shard-tokens", p.shard_tokens, "tokens per shard")->capture_default_str();
  prep->add_option("--split", p.split, "document rule: paragraph (blank or '%' lines) or file (one per file)")
      ->capture_default_str();
  prep->add_option("--tokenizer-sample-bytes", p.tokenizer_sample_bytes,
                   "at most this much training text is used to train the tokenizer (a deterministic sample)")
      ->capture_default_str();
  st->prepare_cmd = prep;

  auto* insp = data.add_subcommand(
      "inspect",
      "show shard headers, sizes, token counts, vocabulary coverage and a decoded sample. Works on any llm.c "
      "shards, e.g. the FineWeb-10B GPT-2 shards of modded-nanogpt (vocab 50257; no decoded sample: GPT-2's "
      "tokenizer is not sentencepiece). Exit code 1 when a shard is invalid or an id exceeds the vocabulary");
  insp->add_option("path", st->inspect_arg, "directory of shards (its *.bin) or a glob (quote it)")->required();
  insp->add_option("--tokenizer", st->inspect_tokenizer,
                   "sentencepiece .model to decode with (default: the manifest's, or the one *.model beside the shards)");
  insp->add_option("--sample-tokens", st->sample_tokens, "tokens to decode from the first shard")->capture_default_str();
  insp->add_flag("--json", st->inspect_json, "print the report as JSON");
  st->inspect_cmd = insp;

  return [st]() -> int {
    if (*st->prepare_cmd) return run_prepare(st->prepare);
    if (*st->inspect_cmd) return run_inspect(*st);
    return -1;
  };
}

}  // namespace skipbench
