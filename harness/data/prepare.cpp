// prepare.cpp: see prepare.h. Sources are memory-mapped and read twice: once to split documents, checksum the files
// and sample the tokenizer's training text, once to tokenise in batches of about 64 MB of text, each batch spread
// over the threads by bytes, so memory stays near one batch plus one shard per split whatever the corpus size.
#include "harness/data/prepare.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>
#include <thread>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/hash.h"
#include "harness/common/json_io.h"
#include "harness/data/shard.h"
#include "harness/data/tokenizer.h"

namespace skipbench::data {
namespace json = boost::json;

namespace {

// A read-only memory map of a whole file (empty files map nothing).
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) throw Error(path + ": cannot open (" + std::strerror(errno) + ")");
    struct stat st {};
    ::fstat(fd, &st);
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      map_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (map_ == MAP_FAILED) {
        map_ = nullptr;
        ::close(fd);
        throw Error(path + ": cannot memory-map (" + std::strerror(errno) + ")");
      }
      ::madvise(map_, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (map_) ::munmap(map_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view text() const { return {static_cast<const char*>(map_), size_}; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t size_ = 0;
};

uint64_t hash_file(const std::string& path) {
  MappedFile m(path);
  return fnv1a64(m.text().data(), m.size());
}

bool is_glob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool regular_file_follow(const std::string& p) {  // fs::is_regular_file does not follow symlinks
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> resolve_sources(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& a : args) {
    std::vector<std::string> matches;
    if (is_glob(a) && !regular_file_follow(a)) {  // a file whose name holds * ? [ is taken as is
      for (const auto& m : fs::glob(a))
        if (regular_file_follow(m)) matches.push_back(m);
      if (matches.empty()) throw Error("--text: no files match '" + a + "' (directories do not count)");
    } else {
      if (fs::is_directory(a)) throw Error(a + ": is a directory; pass its files or a glob such as '" + a + "/*.txt'");
      if (!regular_file_follow(a)) throw Error(a + ": no such file (--text)");
      matches.push_back(a);
    }
    for (auto& m : matches)
      if (seen.insert(m).second) out.push_back(m);
  }
  return out;
}

// out/: new, empty, or a previous prepare output. Returns the entries to delete; throws when anything else is there.
bool prepare_output_name(const std::string& n) {
  auto numbered = [&](const std::string& prefix) {
    if (n.size() != prefix.size() + 10 || n.compare(0, prefix.size(), prefix) != 0 || n.substr(n.size() - 4) != ".bin")
      return false;
    return std::all_of(n.begin() + static_cast<long>(prefix.size()), n.end() - 4, ::isdigit);
  };
  return n == "manifest.json" || n == "tokenizer.model" || numbered("train_") || numbered("val_") ||
         n.find(".tmp.") != std::string::npos;
}

void clear_output_dir(const std::string& out) {
  if (!fs::exists(out)) {
    fs::make_dirs(out);
    return;
  }
  if (!fs::is_directory(out)) throw Error(out + ": --out exists and is not a directory");
  const auto entries = fs::list_dir(out);
  for (const auto& e : entries)
    if (!prepare_output_name(e))
      throw Error(out + ": --out is not empty and not a `skipbench data prepare` output (it holds '" + e +
                  "'); choose a new directory");
  for (const auto& e : entries) fs::remove_tree(fs::join(out, e));
}

// Accumulates one split's tokens and writes a shard whenever shard_tokens are buffered.
class ShardWriter {
 public:
  ShardWriter(std::string dir, std::string prefix, int64_t shard_tokens)
      : dir_(std::move(dir)), prefix_(std::move(prefix)), cap_(static_cast<size_t>(shard_tokens)) {
    buf_.reserve(std::min<size_t>(cap_, size_t{1} << 26));
  }
  void add(const uint16_t* t, size_t n) {
    total_ += static_cast<int64_t>(n);
    while (n > 0) {
      const size_t take = std::min(n, cap_ - buf_.size());
      buf_.insert(buf_.end(), t, t + take);
      t += take;
      n -= take;
      if (buf_.size() == cap_) flush();
    }
  }
  void finish() {
    if (!buf_.empty()) flush();
  }
  int64_t total() const { return total_; }
  const std::vector<std::string>& paths() const { return paths_; }
  json::array& meta() { return meta_; }

 private:
  void flush() {
    char name[32];
    std::snprintf(name, sizeof name, "%s_%06zu.bin", prefix_.c_str(), paths_.size());
    const std::string path = fs::join(dir_, name);
    write_shard(path, buf_);
    paths_.push_back(path);
    meta_.push_back(json::object{{"file", name},
                                 {"split", prefix_},
                                 {"tokens", buf_.size()},
                                 {"bytes", kHeaderBytes + 2 * buf_.size()},
                                 {"fnv1a64", hex64(hash_file(path))}});
    buf_.clear();
  }
  std::string dir_, prefix_;
  size_t cap_;
  std::vector<uint16_t> buf_;
  std::vector<std::string> paths_;
  json::array meta_;
  int64_t total_ = 0;
};

struct Encoded {
  std::vector<uint16_t> tokens;  // every document of the range, each prefixed with end-of-text
  std::vector<size_t> ends;      // end offset of each document in tokens
};

// Encodes docs[b, e) into out.
void encode_range(const Tokenizer& tok, const std::vector<std::string_view>& docs, size_t b, size_t e,
                  Encoded& out) {
  const auto eot = static_cast<uint16_t>(tok.eot_id());
  for (size_t i = b; i < e; ++i) {
    out.tokens.push_back(eot);
    for (int id : tok.encode(docs[i])) out.tokens.push_back(static_cast<uint16_t>(id));
    out.ends.push_back(out.tokens.size());
  }
}

// Encodes all docs on `threads` threads (contiguous ranges of about equal bytes); results in document order.
std::vector<Encoded> encode_parallel(const Tokenizer& tok, const std::vector<std::string_view>& docs, int threads) {
  size_t bytes = 0;
  for (auto d : docs) bytes += d.size();
  const size_t n_threads = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), docs.size()));
  std::vector<size_t> cut{0};
  size_t acc = 0;
  for (size_t i = 0; i < docs.size() && cut.size() < n_threads; ++i) {
    acc += docs[i].size();
    if (acc * n_threads >= bytes * cut.size()) cut.push_back(i + 1);
  }
  if (cut.back() != docs.size()) cut.push_back(docs.size());
  std::vector<Encoded> out(cut.size() - 1);
  std::vector<std::exception_ptr> errs(out.size());
  std::vector<std::thread> pool;
  for (size_t k = 0; k + 1 < cut.size(); ++k)
    pool.emplace_back([&, k] {
      try {
        encode_range(tok, docs, cut[k], cut[k + 1], out[k]);
      } catch (...) {
        errs[k] = std::current_exception();
      }
    });
  for (auto& t : pool) t.join();
  for (auto& e : errs)
    if (e) std::rethrow_exception(e);
  return out;
}

std::string read_file_bytes(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read " + what);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string mb(double bytes) {
  std::ostringstream o;
  o << std::fixed << std::setprecision(1) << bytes / 1e6 << " MB";
  return o.str();
}

}  // namespace

std::vector<std::string_view> split_documents(std::string_view text, bool whole_file) {
  std::vector<std::string_view> docs;
  if (whole_file) {
    if (text.find_first_not_of(" \t\r\n\f\v") != std::string_view::npos) docs.push_back(text);
    return docs;
  }
  size_t start = std::string_view::npos;  // start of the current document
  size_t s = 0;
  while (s < text.size()) {
    size_t nl = text.find('\n', s);
    const size_t e = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view line = text.substr(s, (nl == std::string_view::npos ? text.size() : nl) - s);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const bool sep = line == "%" || line.find_first_not_of(" \t\r\f\v") == std::string_view::npos;
    if (sep) {
      if (start != std::string_view::npos) docs.push_back(text.substr(start, s - start));
      start = std::string_view::npos;
    } else if (start == std::string_view::npos) {
      start = s;
    }
    s = e;
  }
  if (start != std::string_view::npos) docs.push_back(text.substr(start));
  return docs;
}

bool is_validation_document(int64_t index, int64_t val_ppm) {
  const auto a = static_cast<__int128>(index) * val_ppm / 1000000;
  const auto b = static_cast<__int128>(index + 1) * val_ppm / 1000000;
  return b > a;
}

PrepareSummary prepare_data(const PrepareOptions& o) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  auto say = [&](const std::string& msg) {
    if (o.progress) *o.progress << "prepare: " << msg << std::endl;
  };
  // ---- options, all checked before any work ----
  if (o.text.empty()) throw Error("--text: give at least one text file or glob");
  if (o.out.empty()) throw Error("--out: give an output directory");
  if (!(o.val_fraction >= 0.0 && o.val_fraction < 1.0))
    throw Error("--val-fraction " + num(o.val_fraction) + ": must be in [0, 1)");
  if (o.shard_tokens < 1 || o.shard_tokens > INT32_MAX)
    throw Error("--shard-tokens " + std::to_string(o.shard_tokens) + ": must be in [1, " + std::to_string(INT32_MAX) +
                "] (the shard header stores the count as int32)");
  if (o.split != "paragraph" && o.split != "file")
    throw Error("--split " + o.split + ": must be 'paragraph' (blank or '%' lines end documents) or 'file'");
  if (o.vocab < 0) throw Error("--vocab " + std::to_string(o.vocab) + ": must be a positive vocabulary size");
  if (o.tokenizer.empty() && o.vocab <= 0)
    throw Error("--vocab N is required to train a tokenizer (or pass --tokenizer MODEL to reuse one)");
  if (o.vocab > kMaxVocab)
    throw Error("--vocab " + std::to_string(o.vocab) + ": shards store uint16 ids, so the vocabulary can be at most " +
                std::to_string(kMaxVocab) + " (GPT-2's 50257 fits)");
  if (o.tokenizer_sample_bytes < 1) throw Error("--tokenizer-sample-bytes must be positive");
  const int threads = o.threads > 0 ? o.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const auto val_ppm = static_cast<int64_t>(std::llround(o.val_fraction * 1e6));
  const bool whole = o.split == "file";

  // ---- an existing tokenizer is loaded first (it may sit in --out, which is replaced below) ----
  std::unique_ptr<Tokenizer> tok;
  if (!o.tokenizer.empty()) {
    tok = std::make_unique<Tokenizer>(Tokenizer::from_bytes(read_file_bytes(o.tokenizer, "--tokenizer"), o.tokenizer));
    if (o.vocab > 0 && o.vocab != tok->vocab_size())
      throw Error("--vocab " + std::to_string(o.vocab) + " disagrees with --tokenizer " + o.tokenizer + " (" +
                  std::to_string(tok->vocab_size()) + " pieces); drop --vocab or use the matching model");
  }

  // ---- pass 1: sources, checksums, document counts, the tokenizer's sample ----
  const auto files = resolve_sources(o.text);
  size_t total_bytes = 0;
  for (const auto& f : files) {
    struct stat st {};
    ::stat(f.c_str(), &st);
    total_bytes += static_cast<size_t>(st.st_size);
  }
  const bool sample_all = total_bytes <= static_cast<size_t>(o.tokenizer_sample_bytes);
  const uint64_t keep_ppm = sample_all ? 1000000
                                       : static_cast<uint64_t>(static_cast<double>(o.tokenizer_sample_bytes) * 1e6 /
                                                               static_cast<double>(total_bytes));
  json::array sources;
  std::vector<int64_t> docs_per_file;
  int64_t n_docs = 0, n_val = 0;
  std::vector<std::unique_ptr<MappedFile>> maps;  // kept for the sample's views when training
  std::vector<std::string_view> sentences;
  size_t sample_bytes = 0;
  for (const auto& f : files) {
    auto m = std::make_unique<MappedFile>(f);
    const auto docs = split_documents(m->text(), whole);
    for (size_t i = 0; i < docs.size(); ++i) {
      const int64_t idx = n_docs + static_cast<int64_t>(i);
      const bool val = is_validation_document(idx, val_ppm);
      n_val += val;
      if (tok || val || splitmix64(static_cast<uint64_t>(idx)) % 1000000 >= keep_ppm) continue;
      std::string_view d = docs[i];
      while (!d.empty()) {  // lines without newline / carriage return, non-empty
        size_t nl = d.find('\n');
        std::string_view line = d.substr(0, nl);
        d = nl == std::string_view::npos ? std::string_view() : d.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) {
          sentences.push_back(line);
          sample_bytes += line.size();
        }
      }
    }
    n_docs += static_cast<int64_t>(docs.size());
    docs_per_file.push_back(static_cast<int64_t>(docs.size()));
    sources.push_back(json::object{{"path", f},
                                   {"bytes", m->size()},
                                   {"fnv1a64", hex64(fnv1a64(m->text().data(), m->size()))},
                                   {"documents", docs.size()}});
    if (!tok) maps.push_back(std::move(m));
  }
  if (n_docs == 0)
    throw Error("--text: the " + std::to_string(files.size()) + " file(s) hold no text (no non-blank line)");
  if (n_docs - n_val == 0)
    throw Error("--val-fraction " + num(o.val_fraction) + ": every one of the " + std::to_string(n_docs) +
                " documents would be validation; lower it or add text");
  if (val_ppm > 0 && n_val == 0)
    throw Error("--val-fraction " + num(o.val_fraction) + ": the " + std::to_string(n_docs) +
                " documents give no validation document (document i is validation when floor((i+1)*f) > "
                "floor(i*f)); add text, raise the fraction, or use --val-fraction 0");
  say(std::to_string(files.size()) + " file(s), " + mb(static_cast<double>(total_bytes)) + ", " +
      std::to_string(n_docs) + " documents (" + std::to_string(n_val) + " validation)");

  // ---- the tokenizer ----
  if (!tok) {
    say("training a BPE tokenizer (vocab " + std::to_string(o.vocab) + ") on " +
        mb(static_cast<double>(sample_bytes)) + " of training text");
    const auto tt = clock::now();
    BpeTrainOptions bo;
    bo.vocab_size = o.vocab;
    tok = std::make_unique<Tokenizer>(train_bpe(sentences, bo));
    say("tokenizer trained in " + std::to_string(std::chrono::duration<double>(clock::now() - tt).count()) + " s");
    sentences = {};
    maps.clear();
  }

  // ---- pass 2: tokenise in batches, write shards ----
  clear_output_dir(o.out);
  ShardWriter train(o.out, "train", o.shard_tokens), val(o.out, "val", o.shard_tokens);
  constexpr size_t kBatchBytes = size_t{64} << 20;
  int64_t idx = 0;
  auto last_say = clock::now();
  for (size_t fi = 0; fi < files.size(); ++fi) {
    MappedFile m(files[fi]);
    const auto docs = split_documents(m.text(), whole);
    if (static_cast<int64_t>(docs.size()) != docs_per_file[fi])
      throw Error(files[fi] + ": changed while being prepared; run again");
    size_t b = 0;
    while (b < docs.size()) {
      size_t e = b, bytes = 0;
      while (e < docs.size() && (e == b || bytes + docs[e].size() <= kBatchBytes)) bytes += docs[e++].size();
      const std::vector<std::string_view> batch(docs.begin() + static_cast<long>(b), docs.begin() + static_cast<long>(e));
      for (const auto& part : encode_parallel(*tok, batch, threads)) {
        size_t from = 0;
        for (size_t end : part.ends) {
          (is_validation_document(idx++, val_ppm) ? val : train).add(part.tokens.data() + from, end - from);
          from = end;
        }
      }
      b = e;
    }
    if (fi + 1 == files.size() || clock::now() - last_say > std::chrono::seconds(5)) {  // at most every 5 s
      say("[" + std::to_string(fi + 1) + "/" + std::to_string(files.size()) + "] " + files[fi] + ": " +
          std::to_string(train.total() + val.total()) + " tokens so far");
      last_say = clock::now();
    }
  }
  train.finish();
  val.finish();

  // ---- tokenizer copy and manifest (last: a manifest means a complete output) ----
  PrepareSummary s;
  s.documents = n_docs;
  s.val_documents = n_val;
  s.train_documents = n_docs - n_val;
  s.train_tokens = train.total();
  s.val_tokens = val.total();
  s.vocab_size = tok->vocab_size();
  s.eot_id = tok->eot_id();
  s.tokenizer_trained = o.tokenizer.empty();
  s.train_shards = train.paths();
  s.val_shards = val.paths();
  s.tokenizer_path = fs::join(o.out, "tokenizer.model");
  s.manifest_path = fs::join(o.out, "manifest.json");
  write_file_atomic(s.tokenizer_path, tok->serialized());
  json::array shards = train.meta();
  for (auto& v : val.meta()) shards.push_back(v);
  json::object settings{{"vocab", o.vocab > 0 ? o.vocab : tok->vocab_size()},
                        {"val_fraction", o.val_fraction},
                        {"shard_tokens", o.shard_tokens},
                        {"split", o.split},
                        {"tokenizer_sample_bytes", o.tokenizer_sample_bytes}};
  json::object manifest{
      {"format", "skipbench-prepared-data"},
      {"format_version", 1},
      {"description", "llm.c token shards (header of 256 int32: 20240520, 1, count; then uint16 little-endian ids) "
                      "written by `skipbench data prepare`"},
      {"vocab_size", s.vocab_size},
      {"eot_token", s.eot_id},
      {"tokenizer", "tokenizer.model"},
      {"tokenizer_kind", "sentencepiece"},
      {"tokenizer_trained", s.tokenizer_trained},
      {"tokenizer_source", o.tokenizer.empty() ? json::value(nullptr) : json::value(o.tokenizer)},
      {"tokenizer_fnv1a64", hex64(fnv1a64(tok->serialized().data(), tok->serialized().size()))},
      {"document_rule", whole ? "each file is one document"
                              : "documents are separated by blank lines or lines that are exactly '%'"},
      {"validation_rule", "document i (0-based, in source order) is validation when floor((i+1)*f) > floor(i*f)"},
      {"documents", json::object{{"train", s.train_documents}, {"val", s.val_documents}}},
      {"tokens", json::object{{"train", s.train_tokens}, {"val", s.val_tokens}}},
      {"settings", settings},
      {"checksum", "FNV-1a 64-bit of the whole file, hex"},
      {"sources", sources},
      {"shards", shards},
      {"config", json::object{{"model.vocab_size", s.vocab_size},
                              {"data.train", "<this directory>/train_*.bin"},
                              {"data.val", "<this directory>/val_*.bin"}}}};
  write_file_atomic(s.manifest_path, pretty_json(manifest));
  say("done in " + std::to_string(std::chrono::duration<double>(clock::now() - t0).count()) + " s");
  return s;
}

// ---------------------------------------------------------------- inspect

namespace {

std::string dirname_of(const std::string& p) {
  const auto k = p.rfind('/');
  if (k == std::string::npos) return ".";
  return k == 0 ? "/" : p.substr(0, k);
}

std::string strip_path_prefix(const std::string& msg, const std::string& path) {
  return msg.compare(0, path.size() + 2, path + ": ") == 0 ? msg.substr(path.size() + 2) : msg;
}

}  // namespace

InspectReport inspect_data(const std::string& arg, const std::string& tokenizer_path, int64_t sample_tokens) {
  InspectReport r;
  std::vector<std::string> files;
  if (fs::is_directory(arg)) {
    for (const auto& n : fs::list_dir(arg))
      if (n.size() > 4 && n.substr(n.size() - 4) == ".bin" && regular_file_follow(fs::join(arg, n)))
        files.push_back(fs::join(arg, n));
    if (files.empty()) throw Error(arg + ": no *.bin shards in this directory");
  } else {
    files = fs::glob(arg);
    if (files.empty())
      throw Error("inspect: no files match '" + arg + "'; give a directory of shards or a glob such as 'DIR/train_*.bin'");
  }
  const std::string dir = dirname_of(files.front());

  // ---- tokenizer and vocabulary ----
  std::unique_ptr<Tokenizer> tok;
  const std::string manifest_path = fs::join(dir, "manifest.json");
  if (!tokenizer_path.empty()) {
    tok = std::make_unique<Tokenizer>(Tokenizer::from_file(tokenizer_path));
    r.tokenizer = tokenizer_path;
    r.vocab_source = "--tokenizer";
  } else if (fs::exists(manifest_path)) {
    const auto m = read_json_file(manifest_path);
    if (const auto* o = m.if_object()) {
      if (const auto* v = o->if_contains("vocab_size"); v && v->is_int64()) r.vocab_size = v->as_int64();
      if (const auto* v = o->if_contains("eot_token"); v && v->is_int64()) r.eot_id = static_cast<int>(v->as_int64());
      if (r.vocab_size > 0) r.vocab_source = manifest_path;
      if (const auto* v = o->if_contains("tokenizer"); v && v->is_string()) {
        const std::string p = fs::join(dir, std::string(v->as_string()));
        tok = std::make_unique<Tokenizer>(Tokenizer::from_file(p));
        r.tokenizer = p;
      } else if (r.vocab_size == 257 && r.eot_id == 256) {
        r.tokenizer = "bytes";  // the embedded corpus: byte values 0..255 and end-of-text 256
      }
    }
  }
  if (!tok && r.tokenizer.empty()) {
    std::vector<std::string> models;
    for (const auto& n : fs::list_dir(dir))
      if (n.size() > 6 && n.substr(n.size() - 6) == ".model") models.push_back(fs::join(dir, n));
    if (models.size() == 1) {
      tok = std::make_unique<Tokenizer>(Tokenizer::from_file(models[0]));
      r.tokenizer = models[0];
    }
  }
  if (tok) {
    if (r.vocab_size > 0 && r.vocab_size != tok->vocab_size())
      throw Error(r.tokenizer + ": has " + std::to_string(tok->vocab_size()) + " pieces but " + r.vocab_source +
                  " says vocab_size " + std::to_string(r.vocab_size) + "; the tokenizer does not belong to these shards");
    r.vocab_size = tok->vocab_size();
    r.eot_id = tok->eot_id();
    if (r.vocab_source.empty()) r.vocab_source = r.tokenizer;
  }

  // ---- shards ----
  std::vector<uint64_t> all(65536, 0);
  std::vector<char> seen(65536);
  for (const auto& f : files) {
    ShardReport s;
    s.path = f;
    {
      struct stat st {};
      if (::stat(f.c_str(), &st) == 0) s.file_bytes = st.st_size;
      std::ifstream in(f, std::ios::binary);
      int32_t h[3] = {0, 0, 0};
      if (in.read(reinterpret_cast<char*>(h), sizeof h)) {
        s.magic = h[0];
        s.version = h[1];
        s.header_tokens = h[2];
      }
    }
    try {
      Shard sh(f, 65536);
      s.ok = true;
      s.tokens = static_cast<int64_t>(sh.size());
      std::fill(seen.begin(), seen.end(), 0);
      const uint16_t* t = sh.tokens();
      int64_t eots = 0;
      for (size_t i = 0; i < sh.size(); ++i) {
        seen[t[i]] = 1;
        ++all[t[i]];
        eots += t[i] == r.eot_id;
      }
      for (size_t id = 0; id < seen.size(); ++id)
        if (seen[id]) {
          ++s.distinct_ids;
          s.max_id = static_cast<int64_t>(id);
        }
      s.eot_count = r.eot_id >= 0 ? eots : -1;
      r.total_tokens += s.tokens;
      if (r.sample_shard.empty() && s.tokens > 0) {
        r.sample_shard = f;
        r.sample_ids.assign(t, t + std::min<size_t>(sh.size(), static_cast<size_t>(std::max<int64_t>(0, sample_tokens))));
      }
    } catch (const Error& e) {
      s.error = strip_path_prefix(e.what(), f);
      ++r.invalid;
    }
    r.shards.push_back(s);
  }
  for (size_t id = 0; id < all.size(); ++id)
    if (all[id]) {
      ++r.distinct_ids;
      r.max_id = static_cast<int64_t>(id);
    }

  // ---- decoded sample: end-of-text shown as <|endoftext|> ----
  if (!r.sample_ids.empty() && (tok || r.tokenizer == "bytes")) {
    std::vector<int> run;
    auto flush = [&] {
      if (tok) {
        r.sample_text += tok->decode(run);
      } else {
        for (int b : run) r.sample_text += static_cast<char>(b);
      }
      run.clear();
    };
    for (int id : r.sample_ids) {
      if (id == r.eot_id) {
        flush();
        r.sample_text += kEotPiece;
      } else if (r.vocab_size > 0 && id >= r.vocab_size) {
        flush();
        r.sample_text += "<?" + std::to_string(id) + ">";
      } else {
        run.push_back(id);
      }
    }
    flush();
  }
  return r;
}

std::string format_inspect(const InspectReport& r) {
  std::ostringstream o;
  size_t w = 5;
  for (const auto& s : r.shards) w = std::max(w, s.path.size());
  o << std::left << std::setw(static_cast<int>(w)) << "shard" << "  " << std::right << std::setw(9) << "magic"
    << std::setw(8) << "version" << std::setw(13) << "tokens" << std::setw(14) << "bytes" << "  status\n";
  for (const auto& s : r.shards) {
    o << std::left << std::setw(static_cast<int>(w)) << s.path << "  " << std::right << std::setw(9) << s.magic
      << std::setw(8) << s.version << std::setw(13) << s.header_tokens << std::setw(14) << s.file_bytes << "  ";
    if (s.ok) {
      o << "ok: " << s.distinct_ids << " distinct ids, max id " << s.max_id;
      if (s.eot_count >= 0) o << ", " << s.eot_count << " documents start here";
    } else {
      o << "INVALID: " << s.error;
    }
    o << "\n";
  }
  o << "total: " << r.shards.size() << " shard(s), " << r.total_tokens << " tokens";
  if (r.invalid) o << ", " << r.invalid << " INVALID";
  o << "\n";
  if (r.vocab_size > 0) {
    o << "vocabulary: " << r.vocab_size << " (from " << r.vocab_source << "); " << r.distinct_ids << " ids used ("
      << std::fixed << std::setprecision(1) << 100.0 * static_cast<double>(r.distinct_ids) / static_cast<double>(r.vocab_size)
      << "%), max id " << r.max_id;
    if (r.max_id >= r.vocab_size) o << "  PROBLEM: max id >= vocabulary size";
    o << "\n";
  } else {
    o << "vocabulary: unknown (no manifest.json or *.model beside the shards); " << r.distinct_ids
      << " distinct ids, max id " << r.max_id << ", so model.vocab_size must be at least " << r.max_id + 1 << "\n";
  }
  if (!r.tokenizer.empty())
    o << "tokenizer: " << (r.tokenizer == "bytes" ? std::string("byte-level (0..255, end-of-text 256)") : r.tokenizer)
      << ", end-of-text id " << r.eot_id << "\n";
  if (!r.sample_text.empty())
    o << "sample (first " << r.sample_ids.size() << " tokens of " << r.sample_shard << "):\n" << r.sample_text << "\n";
  return o.str();
}

std::string inspect_json(const InspectReport& r) {
  json::array shards;
  for (const auto& s : r.shards) {
    json::object o{{"path", s.path},   {"file_bytes", s.file_bytes}, {"magic", s.magic},
                   {"version", s.version}, {"header_tokens", s.header_tokens}, {"ok", s.ok}};
    if (s.ok) {
      o["tokens"] = s.tokens;
      o["distinct_ids"] = s.distinct_ids;
      o["max_id"] = s.max_id;
      if (s.eot_count >= 0) o["documents"] = s.eot_count;
    } else {
      o["error"] = s.error;
    }
    shards.push_back(o);
  }
  json::array ids;
  for (int i : r.sample_ids) ids.push_back(i);
  json::object out{{"shards", shards},
                   {"total_tokens", r.total_tokens},
                   {"invalid_shards", r.invalid},
                   {"distinct_ids", r.distinct_ids},
                   {"max_id", r.max_id},
                   {"vocab_size", r.vocab_size > 0 ? json::value(r.vocab_size) : json::value(nullptr)},
                   {"eot_token", r.eot_id >= 0 ? json::value(r.eot_id) : json::value(nullptr)},
                   {"tokenizer", r.tokenizer.empty() ? json::value(nullptr) : json::value(r.tokenizer)},
                   {"sample_shard", r.sample_shard},
                   {"sample_ids", ids},
                   {"sample_text", r.sample_text},
                   {"problems", r.problems()}};
  return pretty_json(out);
}

}  // namespace skipbench::data
