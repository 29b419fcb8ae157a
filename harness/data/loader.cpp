// loader.cpp: see loader.h.
#include "harness/data/loader.h"

#include <torch/torch.h>

#include "harness/common/error.h"

namespace skipbench::data {

TokenLoader::TokenLoader(const std::string& pattern, const std::string& what, int64_t vocab, int64_t batch,
                         int64_t seq_len)
    : B_(batch), T_(seq_len) {
  files_ = expand_glob(pattern, what);
  const size_t need = static_cast<size_t>(B_ * T_ + 1);
  for (const auto& f : files_) {
    shards_.emplace_back(f, vocab);
    if (shards_.back().size() < need)
      throw Error(f + ": shard has " + std::to_string(shards_.back().size()) + " tokens, fewer than one batch needs (" +
                  std::to_string(B_) + " x " + std::to_string(T_) + " + 1 = " + std::to_string(need) +
                  "); lower train.micro_batch_size or model.max_seq_len, or use larger shards");
  }
}

bool TokenLoader::has_next_in_epoch() const {
  const size_t need = static_cast<size_t>(B_ * T_ + 1);
  if (pos_.shard >= shards_.size()) return false;
  // every shard holds at least one window (checked at open), so a later shard always has one
  return pos_.offset + need <= shards_[pos_.shard].size() || pos_.shard + 1 < shards_.size();
}

Batch TokenLoader::next() {
  const size_t need = static_cast<size_t>(B_ * T_ + 1);
  if (pos_.offset + need > shards_[pos_.shard].size()) {  // this shard is used up: next shard, or next epoch
    pos_.offset = 0;
    if (++pos_.shard >= shards_.size()) {
      pos_.shard = 0;
      ++pos_.epoch;
    }
  }
  const uint16_t* src = shards_[pos_.shard].tokens() + pos_.offset;
  auto buf = torch::empty({static_cast<int64_t>(need)}, torch::kInt64);
  auto* dst = buf.data_ptr<int64_t>();
  for (size_t i = 0; i < need; ++i) dst[i] = src[i];
  pos_.offset += static_cast<size_t>(B_ * T_);
  return {buf.slice(0, 0, B_ * T_).view({B_, T_}), buf.slice(0, 1, B_ * T_ + 1).view({B_, T_})};
}

void TokenLoader::reset() { pos_ = {}; }

int64_t TokenLoader::windows_per_epoch() const {
  int64_t n = 0;
  for (const auto& s : shards_) n += (static_cast<int64_t>(s.size()) - 1) / (B_ * T_);
  return n;
}

int64_t TokenLoader::total_tokens() const {
  int64_t n = 0;
  for (const auto& s : shards_) n += static_cast<int64_t>(s.size());
  return n;
}

}  // namespace skipbench::data
