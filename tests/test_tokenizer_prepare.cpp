// test_tokenizer_prepare.cpp: the sentencepiece BPE wrapper (exact round trip of non-ASCII text, limits,
// determinism), `data prepare` (document rule, validation rule, checksums, shards that decode back to the exact
// documents, thread-count independence, tokenizer reuse, replacing an earlier output, errors), `data inspect`, and
// prepare -> inspect -> a few training steps on the result.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/config/config.h"
#include "harness/data/loader.h"
#include "harness/common/hash.h"
#include "harness/data/prepare.h"
#include "harness/data/shard.h"
#include "harness/data/tokenizer.h"
#include "harness/train/trainer.h"
#include "tests/test_util.h"

using namespace skipbench;
using namespace skipbench::data;
using skipbench::testing::TempDir;
using skipbench::testing::error_of;

namespace {


// Deterministic pseudo-English: words made of syllables (thousands of distinct words, so BPE has merges to learn),
// plus a few non-ASCII words. Documents of 1-3 lines; `percent` separates them with fortune-style '%' lines.
std::vector<std::string> make_documents(int n, uint64_t seed) {
  static const char* syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "us", "ing", "th",
                              "er", "qu", "st", "pr", "ou", "ea", "ch", "sh", "ba", "de", "fo", "gu", "hi", "ja"};
  static const char* special[] = {"café", "naïve", "Zürich", "ñandú", "東京", "–"};
  uint64_t x = seed;
  auto rnd = [&](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  std::vector<std::string> docs;
  for (int d = 0; d < n; ++d) {
    std::string doc;
    const auto lines = 1 + rnd(3);
    for (uint64_t l = 0; l < lines; ++l) {
      const auto words = 4 + rnd(9);
      for (uint64_t w = 0; w < words; ++w) {
        if (w) doc += ' ';
        if (rnd(15) == 0) {
          doc += special[rnd(6)];
        } else {
          const auto k = 1 + rnd(3);
          for (uint64_t s = 0; s < k; ++s) doc += syl[rnd(28)];
        }
      }
      doc += rnd(4) == 0 ? ".\n" : "\n";
    }
    docs.push_back(doc);
  }
  return docs;
}

void write_text(const std::string& path, const std::vector<std::string>& docs, bool percent) {
  std::ofstream out(path, std::ios::binary);
  for (size_t i = 0; i < docs.size(); ++i) {
    if (i) out << (percent ? "%\n" : "\n  \n");  // blank separators may hold whitespace
    out << docs[i];
  }
}

std::vector<std::string_view> lines_of(const std::vector<std::string>& docs) {
  std::vector<std::string_view> out;
  for (const auto& d : docs) {
    size_t s = 0;
    while (s < d.size()) {
      size_t nl = d.find('\n', s);
      if (nl == std::string::npos) nl = d.size();
      if (nl > s) out.emplace_back(d.data() + s, nl - s);
      s = nl + 1;
    }
  }
  return out;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// All tokens of the shards matching `pattern`, in order.
std::vector<int> read_tokens(const std::string& pattern) {
  std::vector<int> out;
  for (const auto& f : expand_glob(pattern, "test")) {
    Shard s(f, 65536);
    out.insert(out.end(), s.tokens(), s.tokens() + s.size());
  }
  return out;
}

// Splits a token stream at end-of-text ids (each document starts with one) and decodes each document.
std::vector<std::string> decode_documents(const Tokenizer& tok, const std::vector<int>& ids) {
  std::vector<std::string> docs;
  std::vector<int> cur;
  EXPECT_TRUE(ids.empty() || ids.front() == tok.eot_id()) << "the stream starts with end-of-text";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == tok.eot_id()) {
      if (i) docs.push_back(tok.decode(cur));
      cur.clear();
    } else {
      cur.push_back(ids[i]);
    }
  }
  if (!ids.empty()) docs.push_back(tok.decode(cur));
  return docs;
}

const Tokenizer& shared_tokenizer() {  // trained once for the tokenizer tests
  static const Tokenizer tok = [] {
    BpeTrainOptions o;
    o.vocab_size = 600;
    const auto docs = make_documents(400, 1);
    return train_bpe(lines_of(docs), o);
  }();
  return tok;
}

}  // namespace

TEST(Tokenizer, RoundTripsNonAsciiTextExactly) {
  const Tokenizer& tok = shared_tokenizer();
  EXPECT_EQ(tok.vocab_size(), 600);
  EXPECT_EQ(tok.eot_id(), 1);
  EXPECT_EQ(tok.piece(1), "<|endoftext|>");
  const std::string text = "naïve café – 東京 – ñ\n\n  two  spaces,\ttab\r\nЖ 🙂 kalomi ";
  const auto ids = tok.encode(text);
  EXPECT_EQ(tok.decode(ids), text);
  for (int id : ids) {
    EXPECT_NE(id, 0) << "no <unk>: characters outside the vocabulary fall back to bytes";
    EXPECT_NE(id, tok.eot_id());
    EXPECT_LT(id, tok.vocab_size());
  }
  // 🙂 (U+1F642, never seen in training) becomes its 4 UTF-8 bytes F0 9F 99 82 as byte pieces
  const auto smile = tok.encode("🙂");
  ASSERT_EQ(smile.size(), 4u);
  EXPECT_EQ(tok.piece(smile[0]), "<0xF0>");
  EXPECT_EQ(tok.piece(smile[3]), "<0x82>");
  // a common training word is a few merged pieces, not its characters
  EXPECT_LT(tok.encode("kalomi").size(), 6u);
  // the end-of-text text in a document is ordinary text, never the control id
  for (int id : tok.encode("<|endoftext|>")) EXPECT_NE(id, tok.eot_id());
  EXPECT_EQ(tok.decode({tok.eot_id()}), "");
}

TEST(Tokenizer, TrainingIsDeterministicAndModelsReload) {
  BpeTrainOptions o;
  o.vocab_size = 600;
  const auto docs = make_documents(400, 1);
  const auto again = train_bpe(lines_of(docs), o);
  EXPECT_EQ(again.serialized(), shared_tokenizer().serialized()) << "same text, same model (any thread count)";
  TempDir d;
  write_file_atomic(d.file("m.model"), again.serialized());
  const auto loaded = Tokenizer::from_file(d.file("m.model"));
  EXPECT_EQ(loaded.encode("naïve kalomi"), again.encode("naïve kalomi"));
}

TEST(Tokenizer, ClearErrors) {
  BpeTrainOptions o;
  o.vocab_size = 70000;
  const auto docs = make_documents(50, 2);
  auto msg = error_of([&] { train_bpe(lines_of(docs), o); });
  EXPECT_NE(msg.find("at most 65535"), std::string::npos) << msg;
  o.vocab_size = 100;
  msg = error_of([&] { train_bpe(lines_of(docs), o); });
  EXPECT_NE(msg.find("too small"), std::string::npos) << msg;
  o.vocab_size = 60000;  // far more than 50 short documents can give
  msg = error_of([&] { train_bpe(lines_of(docs), o); });
  EXPECT_NE(msg.find("Vocabulary size too high"), std::string::npos) << msg;
  EXPECT_NE(msg.find("smaller --vocab"), std::string::npos) << msg;
  TempDir d;
  std::ofstream(d.file("junk.model")) << "not a model";
  msg = error_of([&] { Tokenizer::from_file(d.file("junk.model")); });
  EXPECT_NE(msg.find(d.file("junk.model") + ": not a sentencepiece model"), std::string::npos) << msg;
  msg = error_of([&] { Tokenizer::from_file(d.file("missing.model")); });
  EXPECT_NE(msg.find("cannot read"), std::string::npos) << msg;
}

TEST(Tokenizer, LinkedAheadOfLibTorch) {
  // libsentencepiece and libc10 both export FLAGS_minloglevel; sentencepiece's must win (harness/CMakeLists.txt)
  EXPECT_NO_THROW(check_link_order());
}

TEST(Prepare, SplitsDocumentsAtBlankAndPercentLines) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_documents("a\nb\n\nc\n", false), (V{"a\nb\n", "c\n"}));
  EXPECT_EQ(split_documents("\n\n  \t\na\n%\n%\nb\r\n \r\nc", false), (V{"a\n", "b\r\n", "c"}));
  EXPECT_EQ(split_documents("x % y\n%%\n", false), (V{"x % y\n%%\n"})) << "only a line that is exactly % splits";
  EXPECT_EQ(split_documents(" \n\n", false), V{});
  EXPECT_EQ(split_documents("a\n\nb\n", true), (V{"a\n\nb\n"}));
  EXPECT_EQ(split_documents(" \n", true), V{});
}

TEST(Prepare, ValidationRuleAndChecksum) {
  std::vector<int64_t> val;
  for (int64_t i = 0; i < 60; ++i)
    if (is_validation_document(i, 50000)) val.push_back(i);
  EXPECT_EQ(val, (std::vector<int64_t>{19, 39, 59})) << "f = 0.05: every 20th document";
  int n = 0;
  for (int64_t i = 0; i < 1000; ++i) n += is_validation_document(i, 333333);
  EXPECT_EQ(n, 333);  // floor(1000 * 0.333333)
  for (int64_t i = 0; i < 100; ++i) EXPECT_FALSE(is_validation_document(i, 0));
  // FNV-1a 64 reference values
  EXPECT_EQ(fnv1a64("", 0), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a", 1), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar", 6), 0x85944171f73967e8ULL);
  EXPECT_EQ(fnv1a64("bar", 3, fnv1a64("foo", 3)), fnv1a64("foobar", 6)) << "hashing continues across calls";
}

TEST(Prepare, ShardsDecodeBackToTheDocumentsWithManifest) {
  TempDir d;
  const auto docs_a = make_documents(300, 7), docs_b = make_documents(200, 8);
  write_text(d.file("a.txt"), docs_a, false);
  write_text(d.file("b.fortune"), docs_b, true);
  PrepareOptions o;
  o.text = {d.file("a.txt"), d.file("b.*")};
  o.out = d.file("out");
  o.vocab = 700;
  o.threads = 2;
  o.shard_tokens = 4000;  // several shards; documents continue across them
  const auto s = prepare_data(o);

  std::vector<std::string> all = docs_a, train_docs, val_docs;
  all.insert(all.end(), docs_b.begin(), docs_b.end());
  for (size_t i = 0; i < all.size(); ++i) (i % 20 == 19 ? val_docs : train_docs).push_back(all[i]);
  EXPECT_EQ(s.documents, 500);
  EXPECT_EQ(s.val_documents, 25);
  EXPECT_EQ(s.vocab_size, 700);
  EXPECT_TRUE(s.tokenizer_trained);
  EXPECT_GT(s.train_shards.size(), 2u);

  const auto tok = Tokenizer::from_file(d.file("out/tokenizer.model"));
  const auto train_ids = read_tokens(d.file("out/train_*.bin"));
  const auto val_ids = read_tokens(d.file("out/val_*.bin"));
  EXPECT_EQ(static_cast<int64_t>(train_ids.size()), s.train_tokens);
  EXPECT_EQ(static_cast<int64_t>(val_ids.size()), s.val_tokens);
  EXPECT_EQ(decode_documents(tok, train_ids), train_docs) << "every training document, in order, exactly";
  EXPECT_EQ(decode_documents(tok, val_ids), val_docs);
  for (size_t i = 0; i + 1 < s.train_shards.size(); ++i) EXPECT_EQ(Shard(s.train_shards[i], 700).size(), 4000u);

  const auto m = read_json_file(s.manifest_path).as_object();
  EXPECT_EQ(m.at("vocab_size").as_int64(), 700);
  EXPECT_EQ(m.at("eot_token").as_int64(), 1);
  EXPECT_EQ(m.at("tokenizer").as_string(), "tokenizer.model");
  EXPECT_EQ(m.at("tokens").at("train").as_int64(), s.train_tokens);
  const auto& src = m.at("sources").as_array();
  ASSERT_EQ(src.size(), 2u);
  const std::string a_text = slurp(d.file("a.txt"));
  EXPECT_EQ(src[0].at("bytes").to_number<uint64_t>(), a_text.size());
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(a_text.data(), a_text.size())));
  EXPECT_EQ(src[0].at("fnv1a64").as_string(), hex);
  EXPECT_EQ(src[1].at("documents").as_int64(), 200);
  const auto& shards = m.at("shards").as_array();
  EXPECT_EQ(shards.size(), s.train_shards.size() + s.val_shards.size());
  const std::string first = slurp(s.train_shards[0]);
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(first.data(), first.size())));
  EXPECT_EQ(shards[0].at("fnv1a64").as_string(), hex);
}

TEST(Prepare, SameFilesForAnyThreadCountAndWithAReusedTokenizer) {
  TempDir d;
  write_text(d.file("t.txt"), make_documents(400, 3), false);
  PrepareOptions o;
  o.text = {d.file("t.txt")};
  o.vocab = 600;
  o.shard_tokens = 3000;
  o.threads = 1;
  o.out = d.file("one");
  const auto s1 = prepare_data(o);
  o.threads = 3;
  o.out = d.file("three");
  prepare_data(o);
  o.vocab = 0;
  o.tokenizer = d.file("one/tokenizer.model");
  o.out = d.file("reused");
  const auto s3 = prepare_data(o);
  EXPECT_FALSE(s3.tokenizer_trained);
  for (const auto& f : fs::list_dir(d.file("one"))) {
    if (f == "manifest.json") continue;
    EXPECT_EQ(slurp(d.file("one/" + f)), slurp(d.file("three/" + f))) << f;
    EXPECT_EQ(slurp(d.file("one/" + f)), slurp(d.file("reused/" + f))) << f;
  }
  EXPECT_EQ(slurp(d.file("one/manifest.json")), slurp(d.file("three/manifest.json")));
  EXPECT_EQ(fs::list_dir(d.file("one")).size(), s1.train_shards.size() + s1.val_shards.size() + 2);
}

TEST(Prepare, ReplacesAnEarlierOutputAndRefusesForeignDirectories) {
  TempDir d;
  write_text(d.file("t.txt"), make_documents(200, 4), false);
  PrepareOptions o;
  o.text = {d.file("t.txt")};
  o.vocab = 500;
  o.out = d.file("out");
  o.shard_tokens = 1000;
  const auto many = prepare_data(o);
  ASSERT_GT(many.train_shards.size(), 3u);
  o.shard_tokens = 1000000;
  o.tokenizer = d.file("out/tokenizer.model");  // reusing the model that is about to be replaced works
  o.vocab = 0;
  const auto one = prepare_data(o);
  EXPECT_EQ(one.train_shards.size(), 1u);
  EXPECT_EQ(fs::list_dir(d.file("out")),
            (std::vector<std::string>{"manifest.json", "tokenizer.model", "train_000000.bin", "val_000000.bin"}))
      << "stale shards of the earlier output are gone";
  EXPECT_EQ(one.train_tokens, many.train_tokens);

  std::ofstream(d.file("out/notes.txt")) << "mine";
  auto msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("not a `skipbench data prepare` output (it holds 'notes.txt')"), std::string::npos) << msg;
  EXPECT_TRUE(fs::exists(d.file("out/train_000000.bin"))) << "nothing deleted when refusing";
}

TEST(Prepare, ClearErrorsBeforeAnyOutput) {
  TempDir d;
  write_text(d.file("t.txt"), make_documents(30, 5), false);
  PrepareOptions o;
  o.text = {d.file("t.txt")};
  o.out = d.file("out");
  auto msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("--vocab N is required"), std::string::npos) << msg;
  o.vocab = 65536;
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("--vocab 65536"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 65535"), std::string::npos) << msg;
  o.vocab = 400;
  o.val_fraction = 1.0;
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("--val-fraction 1: must be in [0, 1)"), std::string::npos) << msg;
  o.val_fraction = 0.01;  // 30 documents, none of them validation
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("no validation document"), std::string::npos) << msg;
  o.val_fraction = 0.05;
  o.text = {d.file("missing.txt")};
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find(d.file("missing.txt") + ": no such file"), std::string::npos) << msg;
  o.text = {d.path};
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
  o.text = {d.file("*.nothing")};
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("--text: no files match"), std::string::npos) << msg;
  std::ofstream(d.file("blank.txt")) << "\n \n%\n";
  o.text = {d.file("blank.txt")};
  msg = error_of([&] { prepare_data(o); });
  EXPECT_NE(msg.find("hold no text"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(d.file("out"))) << "errors come before any output";
}

TEST(Inspect, ReportsHeadersCoverageSampleAndCorruptShards) {
  TempDir d;
  write_text(d.file("t.txt"), make_documents(200, 6), false);
  PrepareOptions o;
  o.text = {d.file("t.txt")};
  o.vocab = 500;
  o.out = d.file("out");
  const auto s = prepare_data(o);
  auto r = inspect_data(d.file("out"), "", 20);
  ASSERT_EQ(r.shards.size(), 2u);
  EXPECT_FALSE(r.problems());
  EXPECT_EQ(r.vocab_size, 500);
  EXPECT_EQ(r.eot_id, 1);
  EXPECT_EQ(r.total_tokens, s.train_tokens + s.val_tokens);
  EXPECT_EQ(r.shards[0].magic, 20240520);
  EXPECT_EQ(r.shards[0].version, 1);
  EXPECT_EQ(r.shards[0].header_tokens, s.train_tokens);
  EXPECT_EQ(r.shards[0].file_bytes, 1024 + 2 * s.train_tokens);
  EXPECT_EQ(r.shards[0].eot_count, s.train_documents);
  std::vector<int> ids = read_tokens(d.file("out/*.bin"));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(r.max_id, ids.back());
  EXPECT_LE(r.max_id, 499);
  EXPECT_EQ(r.distinct_ids, std::unique(ids.begin(), ids.end()) - ids.begin());
  const auto docs = make_documents(200, 6);
  ASSERT_EQ(r.sample_ids.size(), 20u);
  EXPECT_EQ(r.sample_text.rfind("<|endoftext|>" + docs[0].substr(0, 10), 0), 0u) << r.sample_text;
  const std::string text = format_inspect(r);
  EXPECT_NE(text.find("vocabulary: 500"), std::string::npos) << text;
  EXPECT_NE(boost::json::parse(inspect_json(r)).as_object().at("total_tokens").as_int64(), 0);

  // a shard cut short, and shards with no tokenizer beside them
  const std::string bytes = slurp(s.train_shards[0]);
  fs::make_dirs(d.file("bad"));
  {
    std::ofstream(d.file("bad/a.bin"), std::ios::binary) << bytes;
    std::ofstream(d.file("bad/b.bin"), std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  }
  r = inspect_data(d.file("bad/*.bin"));
  ASSERT_EQ(r.shards.size(), 2u);
  EXPECT_TRUE(r.shards[0].ok);
  EXPECT_FALSE(r.shards[1].ok);
  EXPECT_NE(r.shards[1].error.find("truncated"), std::string::npos) << r.shards[1].error;
  EXPECT_EQ(r.invalid, 1);
  EXPECT_TRUE(r.problems());
  EXPECT_EQ(r.vocab_size, -1);
  EXPECT_TRUE(r.sample_text.empty());
  EXPECT_NE(format_inspect(r).find("model.vocab_size must be at least"), std::string::npos);
  // the tokenizer can be named explicitly
  r = inspect_data(d.file("bad/a.bin"), d.file("out/tokenizer.model"), 5);
  EXPECT_EQ(r.vocab_size, 500);
  EXPECT_FALSE(r.sample_text.empty());
  EXPECT_NE(error_of([&] { inspect_data(d.file("nothing")); }).find("no files match"), std::string::npos);
}

TEST(Prepare, PrepareInspectThenTrain) {
  TempDir d;
  write_text(d.file("corpus.txt"), make_documents(600, 9), false);
  PrepareOptions o;
  o.text = {d.file("corpus.txt")};
  o.vocab = 512;
  o.out = d.file("data");
  o.threads = 2;
  const auto s = prepare_data(o);
  ASSERT_FALSE(inspect_data(d.file("data")).problems());
  const Config cfg = load_config(std::string(SKIPBENCH_SOURCE_DIR) + "/configs/tiny.json",
                                 {"model.vocab_size=" + std::to_string(s.vocab_size), "model.dim=32", "model.n_layers=4",
                                  "model.max_seq_len=32", "train.steps=12", "train.batch_size=4",
                                  "train.micro_batch_size=4", "train.val_every=6", "train.val_max_batches=2",
                                  "train.threads=1", "train.optimizer.default.lr=0.01",
                                  "data.train=" + d.file("data/train_*.bin"), "data.val=" + d.file("data/val_*.bin")});
  const auto r = train(cfg, "");
  EXPECT_EQ(r.status, "completed");
  ASSERT_EQ(r.train_loss.size(), 12u);
  const double uniform = std::log(512.0);
  EXPECT_NEAR(r.train_loss.front(), uniform, 1.0) << "an untrained model is near uniform over the vocabulary";
  ASSERT_FALSE(r.val_loss.empty());
  EXPECT_TRUE(std::isfinite(r.val_loss.back()));
  EXPECT_LT(r.val_loss.back(), uniform - 0.5) << "a few steps already learn the unigram statistics";
}

TEST(Inspect, FineWebStyleGpt2ShardWithoutTokenizer) {
  // laid out as modded-nanogpt's fineweb_val_000000.bin: 256 int32 header, then uint16 GPT-2 ids, 50256 = EOT
  TempDir d;
  std::vector<int32_t> header(256, 0);
  header[0] = 20240520;
  header[1] = 1;
  header[2] = 6;
  const std::vector<uint16_t> ids{50256, 15496, 995, 13, 50256, 40};  // <|endoftext|>Hello world.<|endoftext|>I
  {
    std::ofstream out(d.file("fineweb_val_000000.bin"), std::ios::binary);
    out.write(reinterpret_cast<const char*>(header.data()), 1024);
    out.write(reinterpret_cast<const char*>(ids.data()), 12);
  }
  const auto r = inspect_data(d.file("fineweb_val_*.bin"));
  ASSERT_EQ(r.shards.size(), 1u);
  EXPECT_TRUE(r.shards[0].ok) << r.shards[0].error;
  EXPECT_EQ(r.shards[0].tokens, 6);
  EXPECT_EQ(r.shards[0].file_bytes, 1036);
  EXPECT_EQ(r.distinct_ids, 5);
  EXPECT_EQ(r.max_id, 50256);
  EXPECT_FALSE(r.problems());
  EXPECT_NE(format_inspect(r).find("model.vocab_size must be at least 50257"), std::string::npos) << format_inspect(r);
  // and the training loader reads it with GPT-2's vocabulary
  TokenLoader l(d.file("fineweb_val_*.bin"), "data.val", 50257, 1, 5);
  EXPECT_EQ(l.next().targets[0][4].item<int64_t>(), 40);
}
