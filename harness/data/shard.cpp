// shard.cpp: see shard.h.
#include "harness/data/shard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"

namespace skipbench::data {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "shards are little-endian; this reader maps them directly");

void write_shard(const std::string& path, const std::vector<uint16_t>& tokens) {
  std::string bytes(kHeaderBytes + tokens.size() * sizeof(uint16_t), '\0');
  int32_t header[kHeaderInts] = {};
  header[0] = kShardMagic;
  header[1] = kShardVersion;
  require(tokens.size() <= static_cast<size_t>(INT32_MAX), path + ": too many tokens for one shard");
  header[2] = static_cast<int32_t>(tokens.size());
  std::memcpy(bytes.data(), header, kHeaderBytes);
  if (!tokens.empty()) std::memcpy(bytes.data() + kHeaderBytes, tokens.data(), tokens.size() * sizeof(uint16_t));
  write_file_atomic(path, bytes);
}

Shard::Shard(const std::string& path, int64_t vocab_size) : path_(path) {
  // O_NONBLOCK: a FIFO matching a shard glob once hung open() waiting for a writer; it is refused below instead
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) throw Error(path + ": cannot open shard (" + std::strerror(errno) + ")");
  struct stat st {};
  ::fstat(fd, &st);
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(path + ": not a regular file (a FIFO, device or directory); a shard is a file written by `skipbench "
                       "data prepare`: fix the pattern or move it away");
  }
  const size_t bytes = static_cast<size_t>(st.st_size);
  if (bytes < kHeaderBytes) {
    ::close(fd);
    throw Error(path + ": truncated shard: " + std::to_string(bytes) + " bytes, shorter than the 1024-byte header");
  }
  map_ = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    throw Error(path + ": cannot memory-map shard");
  }
  map_bytes_ = bytes;
  try {
    count_ = validate_shard(static_cast<const unsigned char*>(map_), bytes, vocab_size, path);
  } catch (...) {
    ::munmap(map_, map_bytes_);
    map_ = nullptr;
    throw;
  }
  tokens_ = reinterpret_cast<const uint16_t*>(static_cast<const char*>(map_) + kHeaderBytes);
}

size_t validate_shard(const unsigned char* data, size_t bytes, int64_t vocab_size, const std::string& path) {
  auto fail = [&](const std::string& msg) { throw Error(path + ": " + msg); };
  if (bytes < kHeaderBytes)
    fail("truncated shard: " + std::to_string(bytes) + " bytes, shorter than the 1024-byte header");
  int32_t header[3];
  std::memcpy(header, data, sizeof header);  // the data need not be aligned
  if (header[0] != kShardMagic)
    fail("not an llm.c token shard: magic " + std::to_string(header[0]) + ", expected " + std::to_string(kShardMagic) +
         " (write shards with `skipbench data` or llm.c's tokenizers)");
  if (header[1] != kShardVersion)
    fail("unsupported shard version " + std::to_string(header[1]) + ", expected " + std::to_string(kShardVersion) +
         " (uint16 tokens)");
  if (header[2] < 0) fail("negative token count " + std::to_string(header[2]) + " in the header");
  const size_t count = static_cast<size_t>(header[2]);
  const size_t expect = kHeaderBytes + count * sizeof(uint16_t);
  if (bytes < expect)
    fail("truncated shard: header says " + std::to_string(count) + " tokens (" + std::to_string(expect) +
         " bytes) but the file has " + std::to_string(bytes) + " bytes; re-copy or regenerate it");
  if (bytes > expect)
    fail("token count mismatch: header says " + std::to_string(count) + " tokens but the file holds " +
         std::to_string((bytes - kHeaderBytes) / sizeof(uint16_t)) + "; the header or the file is corrupt");
  uint16_t mx = 0;
  size_t at = 0;
  for (size_t i = 0; i < count; ++i) {  // little-endian uint16, read bytewise (unaligned input)
    const uint16_t t = static_cast<uint16_t>(data[kHeaderBytes + 2 * i] | (data[kHeaderBytes + 2 * i + 1] << 8));
    if (t > mx) mx = t, at = i;
  }
  if (count > 0 && static_cast<int64_t>(mx) >= vocab_size)
    fail("token id " + std::to_string(mx) + " at position " + std::to_string(at) + " is >= model.vocab_size " +
         std::to_string(vocab_size) + " (raise model.vocab_size or use matching data)");
  return count;
}

Shard::~Shard() {
  if (map_) ::munmap(map_, map_bytes_);
}

Shard::Shard(Shard&& o) noexcept
    : path_(std::move(o.path_)), map_(o.map_), map_bytes_(o.map_bytes_), tokens_(o.tokens_), count_(o.count_) {
  o.map_ = nullptr;
}

std::vector<std::string> expand_glob(const std::string& pattern, const std::string& what) {
  auto out = fs::glob(pattern);
  if (out.empty())
    throw Error(what + ": no files match '" + pattern +
                "' (for the embedded data run `build/skipbench data embed`, or point " + what + " at your shards)");
  return out;
}

}  // namespace skipbench::data
