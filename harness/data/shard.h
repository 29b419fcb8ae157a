// shard.h: the token-shard format of llm.c / modded-nanogpt, which the paper's FineWeb-10B GPT-2 data uses:
// a header of 256 little-endian int32 (magic 20240520, version 1, token count, the rest 0), then `count` uint16
// little-endian tokens. Shards are memory-mapped read-only; opening one validates it completely.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace skipbench::data {

constexpr int32_t kShardMagic = 20240520;
constexpr int32_t kShardVersion = 1;
constexpr size_t kHeaderInts = 256;
constexpr size_t kHeaderBytes = kHeaderInts * sizeof(int32_t);

// Writes tokens as one shard, atomically (temp file + rename).
void write_shard(const std::string& path, const std::vector<uint16_t>& tokens);

class Shard {
 public:
  // Opens and validates `path`: magic, version, size = header + 2 * count, every token < vocab_size.
  // Throws Error("<path>: <what>; <fix>") otherwise.
  Shard(const std::string& path, int64_t vocab_size);
  ~Shard();
  Shard(Shard&& o) noexcept;
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;
  Shard& operator=(Shard&&) = delete;

  size_t size() const { return count_; }
  const uint16_t* tokens() const { return tokens_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const uint16_t* tokens_ = nullptr;
  size_t count_ = 0;
};

// Validates a shard's bytes (header magic, version, count against the size, every token < vocab_size) and returns
// its token count; throws Error("<path>: <what>; <fix>"). The Shard constructor and the fuzz target use it.
size_t validate_shard(const unsigned char* data, size_t bytes, int64_t vocab_size, const std::string& path);

// Sorted matches of a glob pattern; throws Error naming `what` (e.g. "data.train") when nothing matches.
std::vector<std::string> expand_glob(const std::string& pattern, const std::string& what);

}  // namespace skipbench::data
