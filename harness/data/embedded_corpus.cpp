// embedded_corpus.cpp: see embedded_corpus.h.
#include "harness/data/embedded_corpus.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <vector>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/data/shard.h"

namespace skipbench::data {

namespace {
// Fortune files that are pictures rather than prose.
bool skip_file(const std::string& name) { return name == "art" || name == "ascii-art"; }
}  // namespace

CorpusSummary build_embedded_corpus(const std::string& source_dir, const std::string& out_dir) {
  if (!fs::is_directory(source_dir))
    throw Error(source_dir + ": no such directory (install Debian's `fortunes` package: bash ci/setup.sh)");
  std::vector<std::string> files;  // sorted: the corpus does not depend on directory order
  for (const auto& name : fs::list_dir(source_dir)) {
    const std::string p = fs::join(source_dir, name);
    if (!fs::is_regular_file(p) || name.find('.') != std::string::npos || skip_file(name)) continue;
    files.push_back(p);
  }
  if (files.empty()) throw Error(source_dir + ": no fortune text files found (install Debian's `fortunes` package)");

  std::vector<uint16_t> train, val;
  boost::json::array sources;
  int64_t docs = 0;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    sources.push_back(boost::json::object{{"file", f}, {"bytes", text.size()}});
    std::istringstream lines(text);
    std::string line, doc;
    auto flush = [&]() {
      if (doc.find_first_not_of(" \t\n") != std::string::npos) {
        auto& dst = (docs % 20 == 19) ? val : train;
        dst.push_back(kByteEot);
        for (unsigned char c : doc) dst.push_back(c);
        ++docs;
      }
      doc.clear();
    };
    while (std::getline(lines, line)) {
      if (line == "%") {
        flush();
      } else {
        doc += line;
        doc += '\n';
      }
    }
    flush();
  }
  fs::make_dirs(out_dir);
  CorpusSummary s;
  s.documents = docs;
  s.train_tokens = static_cast<int64_t>(train.size());
  s.val_tokens = static_cast<int64_t>(val.size());
  s.train_path = fs::join(out_dir, "train_000000.bin");
  s.val_path = fs::join(out_dir, "val_000000.bin");
  s.manifest_path = fs::join(out_dir, "manifest.json");
  write_shard(s.train_path, train);
  write_shard(s.val_path, val);
  boost::json::object manifest{
      {"name", "embedded-fortunes-bytes"},
      {"description", "Debian package `fortunes` text, byte-level tokens (0..255) + end-of-text 256 before each "
                      "document; every 20th document is validation"},
      {"licence", "see /usr/share/doc/fortunes/copyright (fortune-mod data; mixed free/public-domain sources)"},
      {"vocab_size", kByteVocab},
      {"eot_token", kByteEot},
      {"documents", docs},
      {"train_tokens", s.train_tokens},
      {"val_tokens", s.val_tokens},
      {"sources", sources}};
  write_file_atomic(s.manifest_path, pretty_json(manifest));
  return s;
}

}  // namespace skipbench::data
