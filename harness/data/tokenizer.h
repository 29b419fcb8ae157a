// tokenizer.h: BPE tokenizers for `skipbench data prepare` and `inspect`: a small wrapper over sentencepiece
// (Debian's libsentencepiece-dev) so the rest of skipbench never includes its headers.
// Models trained here are set up so that any UTF-8 text round-trips exactly: identity normalisation (no NFKC),
// whitespace kept as is (no dummy prefix, no collapsing of spaces), and byte fallback (a character outside the
// vocabulary becomes its UTF-8 bytes, pieces <0x00>..<0xFF>), so <unk> is never produced for valid UTF-8.
// Id 0 is <unk>, id 1 the end-of-text control piece "<|endoftext|>" (prepare puts it before every document, as
// modded-nanogpt puts GPT-2's EOT), then the 256 byte pieces <0x00>..<0xFF>, then merged pieces, then the single
// characters of the training text.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace skipbench::data {

// Shards store uint16 ids: a tokenizer with more pieces than this cannot be used.
constexpr int64_t kMaxVocab = 65535;
constexpr const char* kEotPiece = "<|endoftext|>";

class Tokenizer {
 public:
  // Loads a sentencepiece model file. Throws Error naming the file when it is missing or not a model, has more
  // than kMaxVocab pieces, or has no end-of-text (eos) piece.
  static Tokenizer from_file(const std::string& path);
  // The same from the model's bytes; `name` stands for the model in errors.
  static Tokenizer from_bytes(const std::string& serialized, const std::string& name);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  int64_t vocab_size() const;  // number of pieces; ids are 0..vocab_size-1
  int eot_id() const;
  // Encode/decode are thread-safe (const, no shared mutable state).
  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;  // control ids (end-of-text) decode to nothing
  std::string piece(int id) const;
  const std::string& serialized() const;  // the model file's bytes

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct BpeTrainOptions {
  int64_t vocab_size = 4096;       // 2 specials + 256 byte pieces + characters + merges; at most kMaxVocab
  double character_coverage = 0.9995;  // rarer characters are left to byte fallback
  bool verbose = false;            // sentencepiece's own progress log on stderr
};

// Trains a byte-fallback BPE model (settings above) on `sentences`: lines of text without their newline (a
// newline is then encoded by byte fallback as <0x0A>). Deterministic: the same sentences give the same model (so
// sentencepiece trains on one thread: with more, pieces of equal frequency can come out in another order).
// Throws Error with sentencepiece's reason (e.g. a vocabulary too small for the characters seen).
Tokenizer train_bpe(const std::vector<std::string_view>& sentences, const BpeTrainOptions& opts);

// Throws Error when the program was linked with LibTorch's libc10 ahead of libsentencepiece (see
// harness/CMakeLists.txt); the tokenizer functions call it once.
void check_link_order();

}  // namespace skipbench::data
