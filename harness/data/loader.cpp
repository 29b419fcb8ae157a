// loader.cpp: see loader.h.
#include "harness/data/loader.h"

#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/common/hash.h"

namespace skipbench::data {

TokenLoader::TokenLoader(const std::string& pattern, const std::string& what, int64_t vocab, int64_t batch,
                         int64_t seq_len, int64_t rank, int64_t world_size)
    : B_(batch), T_(seq_len), rank_(rank), world_(world_size) {
  if (world_ < 1 || rank_ < 0 || rank_ >= world_)
    throw Error(what + ": rank " + std::to_string(rank_) + " is not in [0, world size " + std::to_string(world_) +
                ")");
  files_ = expand_glob(pattern, what);
  const size_t need = static_cast<size_t>(B_ * T_ + 1);
  for (const auto& f : files_) {
    shards_.emplace_back(f, vocab);
    if (shards_.back().size() < need)
      throw Error(f + ": shard has " + std::to_string(shards_.back().size()) + " tokens, fewer than one batch needs (" +
                  std::to_string(B_) + " x " + std::to_string(T_) + " + 1 = " + std::to_string(need) +
                  "); lower train.micro_batch_size or model.max_seq_len, or use larger shards");
  }
  reset();
}

bool TokenLoader::fits(const LoaderPosition& p) const {
  return p.offset + static_cast<size_t>(B_ * T_) + 1 <= shards_[p.shard].size();
}

void TokenLoader::settle(LoaderPosition& p) const {
  if (fits(p)) return;  // every shard holds at least one window (checked at open), so one move is enough
  p.offset = 0;
  if (++p.shard >= shards_.size()) {
    p.shard = 0;
    ++p.epoch;
  }
}

LoaderPosition TokenLoader::mine() const {
  LoaderPosition p = pos_;
  settle(p);
  for (int64_t r = 0; r < rank_; ++r) {
    p.offset += static_cast<size_t>(B_ * T_);
    settle(p);
  }
  return p;
}

bool TokenLoader::has_next_in_epoch() const { return mine().epoch == epoch_; }

Batch TokenLoader::next() {
  const size_t need = static_cast<size_t>(B_ * T_ + 1);
  const LoaderPosition p = mine();
  const uint16_t* src = shards_[p.shard].tokens() + p.offset;
  auto buf = torch::empty({static_cast<int64_t>(need)}, torch::TensorOptions(torch::kInt64).pinned_memory(pin_));
  auto* dst = buf.data_ptr<int64_t>();
  for (size_t i = 0; i < need; ++i) dst[i] = src[i];
  advance(p);
  return {buf.slice(0, 0, B_ * T_).view({B_, T_}), buf.slice(0, 1, B_ * T_ + 1).view({B_, T_}), buf};
}

void TokenLoader::skip() { advance(mine()); }

void TokenLoader::advance(const LoaderPosition& read) {
  epoch_ = read.epoch;
  // the next round starts world windows on; it settles when read (so one process's position is its next
  // window's offset, past its shard's end until then, as a checkpoint recorded it)
  settle(pos_);
  for (int64_t r = 0; r < world_; ++r) {
    if (r > 0) settle(pos_);
    pos_.offset += static_cast<size_t>(B_ * T_);
  }
}

Batch to_device(const Batch& b, const torch::Device& device) {
  if (device.is_cpu()) return b;
  if (!b.window.defined()) return {b.inputs.to(device), b.targets.to(device), {}};
  auto w = b.window.to(device, /*non_blocking=*/b.window.is_pinned());
  const auto B = b.inputs.size(0), T = b.inputs.size(1);
  return {w.slice(0, 0, B * T).view({B, T}), w.slice(0, 1, B * T + 1).view({B, T}), w};
}

void TokenLoader::reset() {
  pos_ = {0, 0, 0};
  epoch_ = 0;
}

void TokenLoader::set_position(const LoaderPosition& p) {
  const size_t stride = static_cast<size_t>(B_ * T_);
  if (p.epoch < 0 || p.shard >= shards_.size() || p.offset % stride != 0 || p.offset >= shards_[p.shard].size())
    throw Error("data position (epoch " + std::to_string(p.epoch) + ", shard " + std::to_string(p.shard) +
                ", offset " + std::to_string(p.offset) + ") does not fit these " + std::to_string(shards_.size()) +
                " shard(s) with batch " + std::to_string(B_) + " x " + std::to_string(T_) +
                "; resume with the data and batch settings the checkpoint was made with");
  pos_ = p;
  epoch_ = p.epoch;
}

int64_t TokenLoader::windows_per_epoch() const {
  int64_t n = 0;  // whole windows per shard (each needs B*T+1 tokens, the next starts B*T later)
  for (const auto& s : shards_) n += (static_cast<int64_t>(s.size()) - 1) / (B_ * T_);
  return n;
}

int64_t TokenLoader::total_tokens() const {
  int64_t n = 0;
  for (const auto& s : shards_) n += static_cast<int64_t>(s.size());
  return n;
}

uint64_t TokenLoader::checksum() const {
  if (!have_checksum_) {
    uint64_t h = kFnvOffset;
    for (const auto& s : shards_) h = fnv1a64(s.tokens(), s.size() * sizeof(uint16_t), h);
    checksum_ = h;
    have_checksum_ = true;
  }
  return checksum_;
}

}  // namespace skipbench::data
