// test_data.cpp: the llm.c shard format (a good file, and each kind of corrupted file) and the window loader.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <fstream>

#include "harness/common/error.h"
#include "harness/data/loader.h"
#include "harness/data/shard.h"
#include "tests/test_util.h"

using namespace skipbench;
using namespace skipbench::data;
using skipbench::testing::TempDir;

namespace {
std::vector<uint16_t> iota_tokens(size_t n, uint16_t mod = 1000) {
  std::vector<uint16_t> t(n);
  for (size_t i = 0; i < n; ++i) t[i] = static_cast<uint16_t>(i % mod);
  return t;
}
// Writes raw bytes: a header with the given fields, then `tokens`, then `extra` bytes.
void write_raw(const std::string& path, int32_t magic, int32_t version, int32_t count,
               const std::vector<uint16_t>& tokens, size_t extra = 0) {
  std::vector<int32_t> header(256, 0);
  header[0] = magic;
  header[1] = version;
  header[2] = count;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header.data()), 1024);
  out.write(reinterpret_cast<const char*>(tokens.data()), static_cast<std::streamsize>(tokens.size() * 2));
  for (size_t i = 0; i < extra; ++i) out.put('\0');
}
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Shard, RoundTripsByteForByteInTheLlmcLayout) {
  TempDir d;
  auto toks = iota_tokens(5000, 50257);
  write_shard(d.file("a.bin"), toks);
  // layout: 256 little-endian int32 (magic, version, count, zeros), then uint16 tokens
  std::ifstream in(d.file("a.bin"), std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(bytes.size(), 1024u + 2 * 5000u);
  int32_t h[4];
  std::memcpy(h, bytes.data(), 16);
  EXPECT_EQ(h[0], 20240520);
  EXPECT_EQ(h[1], 1);
  EXPECT_EQ(h[2], 5000);
  EXPECT_EQ(h[3], 0);
  EXPECT_EQ(static_cast<unsigned char>(bytes[1024 + 2 * 300]), 300 % 256);  // little-endian low byte first
  Shard s(d.file("a.bin"), 50257);
  ASSERT_EQ(s.size(), 5000u);
  EXPECT_TRUE(std::equal(toks.begin(), toks.end(), s.tokens()));
}

TEST(Shard, RejectsEachKindOfCorruptFile) {
  TempDir d;
  auto toks = iota_tokens(100);
  write_raw(d.file("magic.bin"), 12345, 1, 100, toks);
  EXPECT_NE(error_of([&] { Shard(d.file("magic.bin"), 1000); }).find("magic"), std::string::npos);
  write_raw(d.file("version.bin"), kShardMagic, 2, 100, toks);
  EXPECT_NE(error_of([&] { Shard(d.file("version.bin"), 1000); }).find("version"), std::string::npos);
  write_raw(d.file("trunc.bin"), kShardMagic, 1, 200, toks);  // header claims 200, file holds 100
  EXPECT_NE(error_of([&] { Shard(d.file("trunc.bin"), 1000); }).find("truncated"), std::string::npos);
  write_raw(d.file("header.bin"), kShardMagic, 1, 0, {});
  {
    std::ofstream(d.file("short.bin"), std::ios::binary) << "abc";
  }
  EXPECT_NE(error_of([&] { Shard(d.file("short.bin"), 1000); }).find("truncated"), std::string::npos);
  write_raw(d.file("extra.bin"), kShardMagic, 1, 100, toks, 10);
  EXPECT_NE(error_of([&] { Shard(d.file("extra.bin"), 1000); }).find("count mismatch"), std::string::npos);
  auto big = toks;
  big[42] = 999;
  write_raw(d.file("vocab.bin"), kShardMagic, 1, 100, big);
  auto msg = error_of([&] { Shard(d.file("vocab.bin"), 500); });
  EXPECT_NE(msg.find("token id 999 at position 42"), std::string::npos) << msg;
  EXPECT_NE(msg.find(d.file("vocab.bin")), std::string::npos) << "errors name the file";
  EXPECT_NE(error_of([&] { Shard(d.file("missing.bin"), 1000); }).find("cannot open"), std::string::npos);
}

TEST(Loader, ServesContiguousWindowsShiftedByOne) {
  TempDir d;
  write_shard(d.file("s_0.bin"), iota_tokens(20));
  TokenLoader l(d.file("s_*.bin"), "data.train", 1000, 2, 3);  // windows of 2*3+1 = 7, stride 6
  auto b = l.next();
  EXPECT_TRUE(torch::equal(b.inputs, torch::tensor({0, 1, 2, 3, 4, 5}, torch::kInt64).view({2, 3})));
  EXPECT_TRUE(torch::equal(b.targets, torch::tensor({1, 2, 3, 4, 5, 6}, torch::kInt64).view({2, 3})));
  EXPECT_EQ(l.next().inputs[0][0].item<int64_t>(), 6);
  EXPECT_EQ(l.next().inputs[0][0].item<int64_t>(), 12);  // 12..18 fits (needs 19 < 20)
  EXPECT_EQ(l.windows_per_epoch(), 3);
  EXPECT_FALSE(l.has_next_in_epoch());
  auto w = l.next();  // wraps: a new epoch from the start
  EXPECT_EQ(w.inputs[0][0].item<int64_t>(), 0);
  EXPECT_EQ(l.position().epoch, 1);
}

TEST(Loader, MovesToTheNextShardDroppingTheTail) {
  TempDir d;
  write_shard(d.file("s_0.bin"), iota_tokens(10));
  std::vector<uint16_t> second(10);
  for (size_t i = 0; i < 10; ++i) second[i] = static_cast<uint16_t>(100 + i);
  write_shard(d.file("s_1.bin"), second);
  TokenLoader l(d.file("s_*.bin"), "data.val", 1000, 1, 4);  // window 5, stride 4
  std::vector<int64_t> firsts;
  while (l.has_next_in_epoch()) firsts.push_back(l.next().inputs[0][0].item<int64_t>());
  EXPECT_EQ(firsts, (std::vector<int64_t>{0, 4, 100, 104}));  // token 8..9 of shard 0 are dropped
  EXPECT_EQ(l.windows_per_epoch(), 4);
}

TEST(Loader, ClearErrorsForEmptyGlobAndTooSmallShard) {
  TempDir d;
  auto msg = error_of([&] { TokenLoader(d.file("nothing_*.bin"), "data.train", 100, 1, 4); });
  EXPECT_NE(msg.find("data.train: no files match"), std::string::npos) << msg;
  write_shard(d.file("tiny.bin"), iota_tokens(8, 50));
  msg = error_of([&] { TokenLoader(d.file("tiny.bin"), "data.train", 100, 2, 4); });
  EXPECT_NE(msg.find("fewer than one batch needs"), std::string::npos) << msg;
  EXPECT_NE(msg.find("micro_batch_size"), std::string::npos) << "the message says how to fix it";
}
