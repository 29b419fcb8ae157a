// test_mod.cpp: the `mod` variant (variants/mod.cpp, Mixture-of-Depths), against a direct computation from its
// weights: with capacity 1 a routed block is the dense block with its update scaled by the router weight; with a
// small capacity each sequence sends exactly its k top-scoring tokens through, which attend only to each other at
// their original positions, and the other tokens ride the residual unchanged; gradients reach the router through
// the scale; the causal predictor learns only from its own loss, and in causal mode it alone decides; training
// computes only the chosen tokens, resumes bit-identically and records the causal validation loss.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/model/rope.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/trainer.h"
#include "tests/model_test_util.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;

namespace {
Transformer mod(const ModelConfig& cfg, boost::json::object opts) {
  torch::manual_seed(5);
  return build_model(cfg, PluginConfig{"mod", std::move(opts)});
}
torch::Tensor tokens(int64_t B, int64_t T, int64_t vocab) { return skipbench::testing::random_tokens(B, T, vocab); }
torch::Tensor param(Transformer& m, const std::string& name) { return skipbench::testing::param_of(m, name); }
RopeTables rope_of(const ModelConfig& c) { return rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta, torch::kCPU); }
// the residual entering block 1 of a 2-block model (block 0 is not routed: dense)
torch::Tensor h1_of(Transformer& m, const torch::Tensor& x) {
  auto h0 = m->input_norm(m->tok_embeddings(x));
  return m->blocks[0]->forward(h0, rope_of(m->cfg), torch::Tensor(), AttentionGate::none);
}
torch::Tensor router_of(Transformer& m, const torch::Tensor& h) {
  return torch::matmul(h, param(m, "gates.routers.0.weight").t()).squeeze(-1) + param(m, "gates.routers.0.bias");
}
}  // namespace

TEST(Mod, CapacityOneIsTheDenseBlockWithItsUpdateScaledByTheRouterWeight) {
  const auto cfg = skipbench::testing::small_model(2);
  auto m = mod(cfg, {{"capacity", 1.0}});
  m->eval();
  torch::NoGradGuard ng;
  const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
  const auto h1 = h1_of(m, x);
  const auto r = router_of(m, h1);
  const auto y = m->blocks[1]->forward(h1, rope_of(cfg), torch::Tensor(), AttentionGate::none);
  const auto want = m->output(m->output_norm(h1 + r.unsqueeze(-1) * (y - h1)));
  const auto out = m->forward(x);
  EXPECT_TRUE(torch::allclose(out.logits, want, 1e-5, 1e-5));
  ASSERT_EQ(out.gates.size(), 2u);  // every block has a gate (ones where not routed), aligned with the blocks
  EXPECT_TRUE(torch::equal(out.gates[0], torch::ones_like(out.gates[0])));
  EXPECT_TRUE(torch::equal(out.gates[1], torch::ones_like(out.gates[1])));
  // the sigmoid option scales by sigmoid(r)
  auto s = mod(cfg, {{"capacity", 1.0}, {"router", "sigmoid"}});
  s->eval();
  const auto hs = h1_of(s, x);
  const auto ys = s->blocks[1]->forward(hs, rope_of(cfg), torch::Tensor(), AttentionGate::none);
  const auto ws = s->output(s->output_norm(hs + torch::sigmoid(router_of(s, hs)).unsqueeze(-1) * (ys - hs)));
  EXPECT_TRUE(torch::allclose(s->forward(x).logits, ws, 1e-5, 1e-5));
}

TEST(Mod, TheTopKTokensAttendOnlyToEachOtherAndTheRestRideTheResidual) {
  const auto cfg = skipbench::testing::small_model(2);  // seq 16: capacity 0.25 -> k = 4 per sequence
  auto m = mod(cfg, {{"capacity", 0.25}});
  m->eval();
  torch::NoGradGuard ng;
  const int64_t B = 3, T = cfg.max_seq_len, k = 4;
  const auto x = tokens(B, T, cfg.vocab_size);
  const auto h1 = h1_of(m, x);
  const auto r = router_of(m, h1);
  const auto out = m->forward(x);
  const auto chosen = out.gates[1];
  EXPECT_TRUE(torch::equal(chosen.sum(1), torch::full({B}, static_cast<float>(k))));
  // the chosen are the k highest router scores, in position order
  const auto idx = std::get<0>(std::get<1>(r.topk(k, 1)).sort(1));
  EXPECT_TRUE(torch::equal(chosen.gather(1, idx), torch::ones({B, k})));
  // expected: block 1 run densely on just the chosen tokens of each sequence, at their original positions
  const auto full = rope_of(cfg);
  const auto xk = h1.gather(1, idx.unsqueeze(-1).expand({B, k, cfg.dim}));
  RopeTables rk{full.cos.index_select(0, idx.reshape({-1})).view({B, k, -1}),
                full.sin.index_select(0, idx.reshape({-1})).view({B, k, -1})};
  const auto yk = m->blocks[1]->forward(xk, rk, torch::Tensor(), AttentionGate::none);
  const auto rk_w = r.gather(1, idx).unsqueeze(-1);
  auto h2 = h1.clone();
  h2.scatter_(1, idx.unsqueeze(-1).expand({B, k, cfg.dim}), xk + rk_w * (yk - xk));
  EXPECT_TRUE(torch::allclose(out.logits, m->output(m->output_norm(h2)), 1e-5, 1e-5));
  // the unchosen tokens' logits are the head of h1 exactly
  const auto skip = (chosen == 0);
  const auto base = m->output(m->output_norm(h1));
  EXPECT_TRUE(torch::allclose(out.logits.index({skip}), base.index({skip}), 0, 1e-6));
  // the soft path (every token computed, unchosen keys masked, updates zeroed) is the same function
  m->skip_compute = false;
  EXPECT_TRUE(torch::allclose(m->forward(x).logits, out.logits, 1e-4, 1e-4));
}

TEST(Mod, GradientsReachTheRouterAndThePredictorLearnsOnlyFromItsOwnLoss) {
  const auto cfg = skipbench::testing::small_model(4);  // routed: blocks 1 and 3
  auto m = mod(cfg, {{"capacity", 0.5}});
  m->train();
  const auto x = tokens(2, cfg.max_seq_len, cfg.vocab_size);
  auto out = m->forward(x);
  ASSERT_EQ(out.aux_losses.size(), 2u);
  out.logits.logsumexp(-1).mean().backward({}, /*retain_graph=*/true);
  EXPECT_GT(param(m, "gates.routers.0.weight").grad().abs().sum().item<double>(), 0);
  EXPECT_GT(param(m, "gates.routers.1.weight").grad().abs().sum().item<double>(), 0);
  const auto& pg = param(m, "gates.predictors.0.0.weight").grad();
  EXPECT_TRUE(!pg.defined() || pg.abs().sum().item<double>() == 0);  // the LM loss does not train the predictor
  m->zero_grad();
  (out.aux_losses[0] + out.aux_losses[1]).backward();
  EXPECT_GT(param(m, "gates.predictors.0.0.weight").grad().abs().sum().item<double>(), 0);
  for (const std::string& n : {"gates.routers.0.weight", "layers.0.attention.wq.weight", "tok_embeddings.weight"}) {
    const auto& g = param(m, n).grad();
    EXPECT_TRUE(!g.defined() || g.abs().sum().item<double>() == 0) << n << ": the predictor sees a detached input";
  }
}

TEST(Mod, InCausalModeThePredictorAloneDecides) {
  const auto cfg = skipbench::testing::small_model(2);
  auto m = mod(cfg, {{"capacity", 0.25}});
  m->eval();
  torch::NoGradGuard ng;
  const auto x = tokens(4, cfg.max_seq_len, cfg.vocab_size);
  ASSERT_TRUE(m->gates->has_causal_mode());
  m->gates->causal = true;
  const auto out = m->forward(x);
  const auto h1 = h1_of(m, x);
  auto z = torch::silu(torch::matmul(h1, param(m, "gates.predictors.0.0.weight").t()) + param(m, "gates.predictors.0.0.bias"));
  auto logit = (torch::matmul(z, param(m, "gates.predictors.0.2.weight").t()) + param(m, "gates.predictors.0.2.bias")).squeeze(-1);
  EXPECT_TRUE(torch::equal(out.gates[1], (logit > 0).to(torch::kFloat32)));
  m->train();
  EXPECT_TRUE(m->forward(x).aux_losses.empty());  // no predictor loss against its own choices
}

TEST(Mod, TrainingComputesOnlyTheChosenTokensResumesAndRecordsTheCausalLoss) {
  TempDir d;
  Config cfg = skipbench::testing::small_run_config(d, "mod", 8);
  {
    auto j = cfg.resolved;
    j["variant"].as_object()["options"] = boost::json::object{{"capacity", 0.25}};
    cfg = config_from_json(j, "test");
  }
  cfg.train.checkpoint_every = 3;
  auto m = build_model(cfg.model, cfg.variant);
  m->train();
  const int64_t B = 4, T = cfg.model.max_seq_len;
  m->forward(tokens(B, T, cfg.model.vocab_size));
  // blocks 0 and 2 every token, blocks 1 and 3 k = 4 of each sequence's 16
  EXPECT_EQ(m->skip_work.computed, 2 * B * T + 2 * B * 4);
  EXPECT_EQ(m->skip_work.possible, 4 * B * T);
  const auto whole = train(cfg, d.file("whole"));
  ASSERT_EQ(whole.status, "completed");
  const auto& fin = whole.report.at("final").as_object();
  ASSERT_TRUE(fin.contains("val_loss_causal"));
  EXPECT_NE(fin.at("val_loss_causal").as_double(), fin.at("val_loss").as_double());
  TrainOptions kill;
  kill.stop_after_steps = 5;
  ASSERT_EQ(train(cfg, d.file("resumed"), kill).status, "interrupted");
  const auto resumed = train(cfg, d.file("resumed"));
  EXPECT_EQ(resumed.train_loss, whole.train_loss);
  EXPECT_EQ(resumed.val_loss, whole.val_loss);
  // the FLOPs estimate counts the routed blocks at their capacity
  const auto dense = train(skipbench::testing::small_run_config(d, "dense", 8), "");
  auto fl = [](const TrainResult& r) { return r.report.at("flops").at("training_total").at("standard").to_number<double>(); };
  EXPECT_LT(fl(whole), fl(dense));
  // ... and the routers and predictors, which the block estimate does not see: blocks 1 and 3 each have a 32 -> 1
  // router and a 32 -> 8 -> 1 predictor, 2 x (32 + 256 + 8) = 592 FLOPs per token each (forward)
  const auto& inf = whole.report.at("flops").at("inference_at_val_sparsity").at("standard");
  EXPECT_DOUBLE_EQ(inf.at("components_per_sequence").at("policy").to_number<double>(), 2 * 592.0 * T);
  const auto& dinf = dense.report.at("flops").at("inference_at_val_sparsity").at("standard");
  EXPECT_FALSE(dinf.at("components_per_sequence").as_object().contains("policy"));
}
