// tokenizer.cpp: see tokenizer.h. All sentencepiece calls live here.
#include "harness/data/tokenizer.h"

#include <dlfcn.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "harness/common/error.h"

namespace sentencepiece::logging {
void SetMinLogLevel(int v);  // exported by libsentencepiece.so, not declared in its public headers
}

namespace skipbench::data {

namespace spm = sentencepiece;

void check_link_order() {
  static const std::string problem = [] {
    void* sym = ::dlsym(RTLD_DEFAULT, "FLAGS_minloglevel");
    Dl_info info{};
    if (!sym || !::dladdr(sym, &info) || !info.dli_fname) return std::string();
    const std::string lib = info.dli_fname;
    if (lib.find("sentencepiece") != std::string::npos || lib.find("c10") == std::string::npos) return std::string();
    return "this binary resolves FLAGS_minloglevel to " + lib +
           " instead of libsentencepiece: link sentencepiece before LibTorch (harness/CMakeLists.txt) and rebuild";
  }();
  if (!problem.empty()) throw Error(problem);
}

struct Tokenizer::Impl {
  spm::SentencePieceProcessor sp;
  std::string bytes;
  int eot = -1;
};

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_bytes(const std::string& serialized, const std::string& name) {
  check_link_order();
  auto impl = std::make_unique<Impl>();
  const auto st = impl->sp.LoadFromSerializedProto(serialized);
  if (!st.ok())
    throw Error(name + ": not a sentencepiece model (" + st.ToString() +
                "); pass a .model file written by sentencepiece or by `skipbench data prepare`");
  const int64_t n = impl->sp.GetPieceSize();
  if (n > kMaxVocab)
    throw Error(name + ": tokenizer has " + std::to_string(n) + " pieces; shards store uint16 ids, so at most " +
                std::to_string(kMaxVocab) + " (use a smaller vocabulary)");
  impl->eot = impl->sp.eos_id();
  if (impl->eot < 0 || impl->eot >= n)
    throw Error(name + ": tokenizer has no end-of-text (eos) piece to separate documents; train one with "
                "`skipbench data prepare --vocab N` (it uses " + std::string(kEotPiece) + ")");
  impl->bytes = serialized;
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read tokenizer model (no such file?)");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_bytes(ss.str(), path);
}

int64_t Tokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }
int Tokenizer::eot_id() const { return impl_->eot; }
const std::string& Tokenizer::serialized() const { return impl_->bytes; }
std::string Tokenizer::piece(int id) const { return impl_->sp.IdToPiece(id); }

std::vector<int> Tokenizer::encode(std::string_view text) const {
  std::vector<int> ids;
  const auto st = impl_->sp.Encode(text, &ids);
  if (!st.ok()) throw Error("tokenizer: cannot encode text (" + st.ToString() + ")");
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string out;
  const auto st = impl_->sp.Decode(ids, &out);
  if (!st.ok()) throw Error("tokenizer: cannot decode ids (" + st.ToString() + ")");
  return out;
}

namespace {
class VectorIterator : public spm::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string_view>& v) : v_(v) { load(); }
  bool done() const override { return i_ >= v_.size(); }
  void Next() override {
    ++i_;
    load();
  }
  const std::string& value() const override { return cur_; }
  spm::util::Status status() const override { return {}; }

 private:
  void load() {
    if (i_ < v_.size()) cur_.assign(v_[i_].data(), v_[i_].size());
  }
  const std::vector<std::string_view>& v_;
  size_t i_ = 0;
  std::string cur_;
};
}  // namespace

Tokenizer train_bpe(const std::vector<std::string_view>& sentences, const BpeTrainOptions& o) {
  check_link_order();
  if (o.vocab_size > kMaxVocab)
    throw Error("--vocab " + std::to_string(o.vocab_size) + ": shards store uint16 ids, so the vocabulary can be at "
                "most " + std::to_string(kMaxVocab) + " (GPT-2's 50257 fits)");
  if (o.vocab_size < 260)
    throw Error("--vocab " + std::to_string(o.vocab_size) +
                ": too small; a byte-fallback BPE vocabulary holds <unk>, end-of-text and 256 byte pieces before any "
                "character or merge (use at least 512)");
  if (sentences.empty()) throw Error("tokenizer training: no text (every document was empty)");
  std::unordered_map<std::string, std::string> kw{
      {"model_type", "bpe"},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"byte_fallback", "true"},
      {"normalization_rule_name", "identity"},
      {"add_dummy_prefix", "false"},
      {"remove_extra_whitespaces", "false"},
      {"allow_whitespace_only_pieces", "true"},
      {"split_digits", "true"},
      {"max_sentence_length", "65536"},
      {"input_sentence_size", "0"},  // the caller samples; sentencepiece's own sampling is random
      {"shuffle_input_sentence", "false"},
      {"unk_id", "0"},
      {"eos_id", "1"},
      {"bos_id", "-1"},
      {"pad_id", "-1"},
      {"eos_piece", kEotPiece},
      {"hard_vocab_limit", "true"},
      {"num_threads", "1"},  // more threads can order equal-frequency pieces differently (not deterministic)
  };
  static std::mutex mu;  // sentencepiece's log level and random seed are process-wide
  std::lock_guard<std::mutex> lock(mu);
  spm::logging::SetMinLogLevel(o.verbose ? 0 : 2);
  spm::SetRandomGeneratorSeed(20240520);
  VectorIterator it(sentences);
  std::string model;
  const auto st = spm::SentencePieceTrainer::Train(kw, &it, &model);
  spm::logging::SetMinLogLevel(0);
  if (!st.ok()) {
    std::string msg = st.ToString();
    if (msg.find("required_chars") != std::string::npos)
      msg += "; use a larger --vocab";
    else if (msg.find("ocabulary size") != std::string::npos)
      msg += "; use a smaller --vocab or more text";
    throw Error("tokenizer training (--vocab " + std::to_string(o.vocab_size) + "): sentencepiece: " + msg);
  }
  return Tokenizer::from_bytes(model, "trained tokenizer");
}

}  // namespace skipbench::data
