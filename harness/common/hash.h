// hash.h: the two non-cryptographic hashes skipbench uses, in one place. FNV-1a 64-bit checksums the data
// (manifests, shards, the data checksum a run and a regression baseline record); splitmix64's finaliser is a cheap,
// well-spread hash of an integer (deterministic sampling of documents, forced-skip patterns).
#pragma once
#include <cinttypes>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace skipbench {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

// FNV-1a 64-bit over n bytes, continuing from h (chain calls to hash several buffers as one).
inline uint64_t fnv1a64(const void* data, size_t n, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

// splitmix64 (Steele, Lea, Flood 2014): the increment and finaliser, a bijection of 64-bit integers.
inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// 16 lower-case hex digits.
inline std::string hex64(uint64_t h) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, h);
  return buf;
}

}  // namespace skipbench
