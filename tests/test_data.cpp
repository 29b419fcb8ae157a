// test_data.cpp: the llm.c shard format (a good file, and each kind of corrupted file) and the window loader (order,
// rank/world split as the paper's loader, resumable position).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "harness/common/error.h"
#include "harness/data/loader.h"
#include "harness/data/shard.h"
#include "tests/test_util.h"

using namespace skipbench;
using namespace skipbench::data;
using skipbench::testing::TempDir;
using skipbench::testing::error_of;

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

// Shards whose tokens name their position: shard k holds k*1000 + i, so a window's first input names where it began.
namespace {
void write_numbered(const TempDir& d, const std::vector<size_t>& sizes) {
  for (size_t k = 0; k < sizes.size(); ++k) {
    std::vector<uint16_t> t(sizes[k]);
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint16_t>(k * 1000 + i);
    write_shard(d.file("s_" + std::to_string(k) + ".bin"), t);
  }
}
}  // namespace

TEST(Loader, RankWorldSplitServesEachWindowToExactlyOneRankPerEpoch) {
  TempDir d;
  // B*T = 6, windows of 7 tokens. The stream: shard 0 (40 tokens) 0 6 12 18 24 30; shard 1 (20) 1000 1006 1012;
  // shard 2 (30) 2000 2006 2012 2018: 13 windows. 3 ranks: rank r reads stream windows r, r+3, ...; the fifth round
  // starts at 2018 (rank 0) and runs into the next epoch for ranks 1 and 2.
  write_numbered(d, {40, 20, 30});
  const std::vector<std::vector<int64_t>> want{{0, 18, 1000, 2000, 2018}, {6, 24, 1006, 2006}, {12, 30, 1012, 2012}};
  std::vector<int64_t> served;
  for (int64_t rank = 0; rank < 3; ++rank) {
    TokenLoader l(d.file("s_*.bin"), "data.train", 3000, 2, 3, rank, 3);
    EXPECT_EQ(l.windows_per_epoch(), 13);
    std::vector<int64_t> mine;
    while (l.has_next_in_epoch()) {
      auto b = l.next();
      const int64_t first = b.inputs[0][0].item<int64_t>();
      mine.push_back(first);
      auto expect = torch::arange(first, first + 6, torch::kInt64).view({2, 3});
      EXPECT_TRUE(torch::equal(b.inputs, expect)) << "rank " << rank << " window at " << first;
      EXPECT_TRUE(torch::equal(b.targets, expect + 1));
    }
    EXPECT_EQ(mine, want[rank]) << "rank " << rank;
    auto again = l.next();  // the epoch's windows are used up: this rank's next one is in epoch 1
    EXPECT_EQ(again.inputs[0][0].item<int64_t>(), rank == 0 ? 12 : (rank - 1) * 6) << "rank " << rank;
    served.insert(served.end(), mine.begin(), mine.end());
  }
  std::sort(served.begin(), served.end());
  EXPECT_EQ(served, (std::vector<int64_t>{0, 6, 12, 18, 24, 30, 1000, 1006, 1012, 2000, 2006, 2012, 2018}))
      << "every window of the epoch exactly once over all ranks, none dropped";
  TokenLoader single(d.file("s_*.bin"), "data.train", 3000, 2, 3);
  EXPECT_EQ(single.windows_per_epoch(), 6 + 3 + 4);
}

// The property data parallelism rests on: W ranks, interleaved round by round, read exactly the windows one process
// reads, in its order, across shard and epoch boundaries, for every W.
TEST(Loader, RanksTogetherReadTheSingleProcessStreamForEveryWorldSize) {
  TempDir d;
  write_numbered(d, {50, 23, 31});  // 8 + 3 + 5 = 16 windows of 6 (+1) tokens an epoch
  TokenLoader single(d.file("s_*.bin"), "data.train", 3000, 2, 3);
  std::vector<int64_t> stream;
  for (int i = 0; i < 48; ++i) stream.push_back(single.next().inputs[0][0].item<int64_t>());  // 3 epochs
  for (int64_t world : {2, 3, 4, 5}) {
    std::vector<std::unique_ptr<TokenLoader>> ranks;
    for (int64_t r = 0; r < world; ++r)
      ranks.push_back(std::make_unique<TokenLoader>(d.file("s_*.bin"), "data.train", 3000, 2, 3, r, world));
    std::vector<int64_t> merged;
    while (merged.size() < stream.size())
      for (auto& l : ranks) merged.push_back(l->next().inputs[0][0].item<int64_t>());
    merged.resize(stream.size());
    EXPECT_EQ(merged, stream) << "world " << world;
  }
}

// skip() (validation steps over another rank's batch without reading it) moves exactly as next() does: a loader
// that skips every other batch reads the stream's even windows, across shard and epoch boundaries, on every rank.
TEST(Loader, SkipMovesOnAsNextDoes) {
  TempDir d;
  write_numbered(d, {50, 23, 31});  // 16 windows an epoch, as above
  for (int64_t world : {1, 2, 3}) {
    for (int64_t r = 0; r < world; ++r) {
      TokenLoader reads(d.file("s_*.bin"), "data.train", 3000, 2, 3, r, world);
      TokenLoader skips(d.file("s_*.bin"), "data.train", 3000, 2, 3, r, world);
      for (int i = 0; i < 40; ++i) {  // past two epochs
        const auto want = reads.next().inputs[0][0].item<int64_t>();
        if (i % 2 == 1) {
          skips.skip();
        } else {
          EXPECT_EQ(skips.next().inputs[0][0].item<int64_t>(), want) << "world " << world << " rank " << r << " i " << i;
        }
        EXPECT_EQ(skips.position().offset, reads.position().offset);
        EXPECT_EQ(skips.position().epoch, reads.position().epoch);
        EXPECT_EQ(skips.has_next_in_epoch(), reads.has_next_in_epoch());
      }
    }
  }
}

TEST(Loader, PositionRoundTripsForEveryRankAndWorldSize) {
  TempDir d;
  write_numbered(d, {50, 33});
  TokenLoader reference(d.file("s_*.bin"), "data.train", 3000, 1, 4);
  std::vector<int64_t> stream;  // one process: 12 + 8 = 20 windows an epoch
  for (int i = 0; i < 40; ++i) stream.push_back(reference.next().inputs[0][0].item<int64_t>());
  for (int64_t rank = 0; rank < 2; ++rank) {
    TokenLoader a(d.file("s_*.bin"), "data.train", 3000, 1, 4, rank, 2);
    for (int i = 0; i < 7; ++i) a.next();  // 7 rounds: past the end of shard 0 and into shard 1
    const LoaderPosition saved = a.position();
    std::vector<Batch> expect;
    for (int i = 0; i < 7; ++i) expect.push_back(a.next());  // crosses the epoch boundary
    TokenLoader b(d.file("s_*.bin"), "data.train", 3000, 1, 4, rank, 2);
    b.set_position(saved);
    for (int i = 0; i < 7; ++i) {
      auto got = b.next();
      EXPECT_TRUE(torch::equal(got.inputs, expect[i].inputs)) << "rank " << rank << " batch " << i;
      EXPECT_TRUE(torch::equal(got.targets, expect[i].targets));
    }
    EXPECT_EQ(b.position().epoch, a.position().epoch);
    EXPECT_EQ(b.position().offset, a.position().offset);
    // the same position on another world size: one process, and 3 ranks, go on with the stream's window 14
    TokenLoader one(d.file("s_*.bin"), "data.train", 3000, 1, 4);
    one.set_position(saved);
    for (int i = 14; i < 24; ++i) EXPECT_EQ(one.next().inputs[0][0].item<int64_t>(), stream[i]) << "window " << i;
    for (int64_t r3 = 0; r3 < 3; ++r3) {
      TokenLoader three(d.file("s_*.bin"), "data.train", 3000, 1, 4, r3, 3);
      three.set_position(saved);
      for (int j = 0; j < 4; ++j)
        EXPECT_EQ(three.next().inputs[0][0].item<int64_t>(), stream[14 + 3 * j + r3]) << "rank " << r3 << " of 3";
    }
  }
}

TEST(Loader, RejectsBadRankAndForeignPositions) {
  TempDir d;
  write_numbered(d, {40});
  auto msg = error_of([&] { TokenLoader(d.file("s_*.bin"), "data.train", 3000, 2, 3, 2, 2); });
  EXPECT_NE(msg.find("data.train: rank 2 is not in [0, world size 2)"), std::string::npos) << msg;
  msg = error_of([&] { TokenLoader(d.file("s_*.bin"), "data.train", 3000, 4, 10, 0, 5); });  // 4*10+1 > 40
  EXPECT_NE(msg.find("fewer than one batch needs (4 x 10 + 1 = 41)"), std::string::npos) << msg;
  TokenLoader l(d.file("s_*.bin"), "data.train", 3000, 2, 3, 1, 2);
  EXPECT_EQ(l.position().offset, 0u) << "the round's first window, the same on every rank";
  msg = error_of([&] { l.set_position({0, 1, 6}); });  // there is no shard 1
  EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
  msg = error_of([&] { l.set_position({0, 0, 13}); });  // off the window grid of 6
  EXPECT_NE(msg.find("batch 2 x 3"), std::string::npos) << msg;
  msg = error_of([&] { l.set_position({0, 0, 42}); });  // past the shard
  EXPECT_NE(msg.find("does not fit"), std::string::npos) << msg;
  EXPECT_NO_THROW(l.set_position({3, 0, 36})) << "past the last whole window: moves on when read";
  EXPECT_EQ(l.next().inputs[0][0].item<int64_t>(), 6) << "rank 1: the second window of the round at epoch 4's start";
}
