// test_prune.cpp: static layer pruning (harness/train/prune.h): a block that is the identity has Block Influence 0
// and angular distance 0 and is the one dropped, and dropping it changes no logit; dropping nothing changes nothing;
// the span method finds the contiguous identity span; the measures are checked against a direct recomputation.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/data/loader.h"
#include "harness/data/shard.h"
#include "harness/train/prune.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;

namespace {
// Zeroes a block's two output projections: attention and FFN branches then add exactly 0 (a sandwich post-norm of
// 0 is 0), so the block passes its input through unchanged.
void make_identity(Transformer& m, int64_t l) {
  torch::NoGradGuard ng;
  m->blocks[l]->attention->wo->weight.zero_();
  m->blocks[l]->feed_forward->w2->weight.zero_();
}

struct Fixture {
  TempDir d;
  ModelConfig cfg = skipbench::testing::small_model(6);
  std::unique_ptr<data::TokenLoader> loader;
  Fixture() {
    data::write_shard(d.file("v_000.bin"), skipbench::testing::patterned_tokens(4096, cfg.vocab_size));
    loader = std::make_unique<data::TokenLoader>(d.file("v_*.bin"), "data", cfg.vocab_size, 4, cfg.max_seq_len);
  }
  torch::Tensor logits(Transformer& m) {
    torch::NoGradGuard ng;
    loader->reset();
    return m->forward(loader->next().inputs).logits;
  }
};
}  // namespace

TEST(Prune, AnIdentityBlockHasInfluenceZeroAndDroppingItChangesNoLogit) {
  Fixture f;
  torch::manual_seed(3);
  Transformer m(f.cfg, nullptr);
  make_identity(m, 2);
  const auto r = measure_redundancy(m, *f.loader, 3, torch::kCPU);
  ASSERT_EQ(r.block_influence.size(), 6u);
  EXPECT_NEAR(r.block_influence[2], 0.0, 1e-12);
  EXPECT_NEAR(r.angular[0][2], 0.0, 1e-6);
  for (int64_t l : {0, 1, 3, 4, 5}) EXPECT_GT(r.block_influence[l], 1e-4) << l;
  EXPECT_EQ(r.sequences, 12);
  EXPECT_EQ(r.tokens, 12.0 * f.cfg.max_seq_len);
  const auto drop = blocks_to_drop(r, 1, "influence");
  ASSERT_EQ(drop, std::vector<int64_t>{2});
  Transformer p = drop_blocks(m, f.cfg, drop);
  EXPECT_EQ(p->cfg.n_layers, 5);
  EXPECT_TRUE(torch::equal(f.logits(p), f.logits(m)));
  // the kept blocks moved down in order: new block 2 is old block 3
  EXPECT_TRUE(torch::equal(p->blocks[2]->attention->wq->weight, m->blocks[3]->attention->wq->weight));
}

TEST(Prune, DroppingNothingChangesNothingAndTheSpanMethodFindsTheIdentitySpan) {
  Fixture f;
  torch::manual_seed(4);
  Transformer m(f.cfg, nullptr);
  make_identity(m, 3);
  make_identity(m, 4);
  const auto r = measure_redundancy(m, *f.loader, 2, torch::kCPU);
  EXPECT_TRUE(blocks_to_drop(r, 0, "span").empty());
  Transformer same = drop_blocks(m, f.cfg, {});
  EXPECT_TRUE(torch::equal(f.logits(same), f.logits(m)));
  EXPECT_NEAR(r.angular[1][3], 0.0, 1e-6);  // h_3 -> h_5 through two identity blocks
  EXPECT_EQ(blocks_to_drop(r, 2, "span"), (std::vector<int64_t>{3, 4}));
  Transformer p = drop_blocks(m, f.cfg, {3, 4});
  EXPECT_TRUE(torch::equal(f.logits(p), f.logits(m)));
  // the angular distance of a span is arccos of the cosine at each sequence's last position, averaged: recomputed
  // here from the residuals of the first two batches for the span (0, 6), the whole model
  torch::NoGradGuard ng;
  f.loader->reset();
  double want = 0;
  for (int b = 0; b < 2; ++b) {
    auto x = f.loader->next().inputs;
    auto h0 = m->input_norm(m->tok_embeddings(x));
    auto h = h0;
    auto rope = rope_tables(x.size(1), f.cfg.head_dim(), f.cfg.rope_theta, torch::kCPU);
    for (int64_t l = 0; l < 6; ++l) h = m->blocks[l]->forward(h, rope, torch::Tensor(), AttentionGate::none);
    auto c = torch::cosine_similarity(h0.select(1, -1).to(torch::kFloat64), h.select(1, -1).to(torch::kFloat64), -1);
    want += (torch::acos(c.clamp(-1, 1)) / M_PI).sum().item<double>();
  }
  EXPECT_NEAR(r.angular[5][0], want / 8.0, 1e-12);
  EXPECT_THROW(blocks_to_drop(r, 6, "influence"), Error);
  EXPECT_THROW(blocks_to_drop(r, 1, "random"), Error);
}
