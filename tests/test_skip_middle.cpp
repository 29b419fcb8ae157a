// test_skip_middle.cpp: the skip-middle gate algebra (accumulation, clamp, mirror), zero gates as an exact
// identity, sandwich vs pre-LN placement, the variant's options and its refusal of odd depths.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/model/block.h"
#include "harness/registry/variant_registry.h"
#include "tests/test_util.h"
#include "variants/skip_middle.h"

using namespace skipbench;
using skipbench::testing::small_model;

TEST(GateAlgebra, AccumulatesClampsAndMirrors) {
  // L = 6: soft masks for blocks 0, 1, 2 and two tokens
  std::vector<torch::Tensor> s = {torch::tensor({{0.3, 0.8}}), torch::tensor({{0.5, 0.5}}), torch::tensor({{0.1, 0.0}})};
  auto g = skip_middle_gates(s, 6);
  ASSERT_EQ(g.size(), 6u);
  // S = (0.3, 0.8), (0.8, 1.3), (0.9, 1.3); g = 1 - clamp(S, 0, 1)
  EXPECT_TRUE(torch::allclose(g[0], torch::tensor({{0.7, 0.2}})));
  EXPECT_TRUE(torch::allclose(g[1], torch::tensor({{0.2, 0.0}})));
  EXPECT_TRUE(torch::allclose(g[2], torch::tensor({{0.1, 0.0}})));
  for (int l = 0; l < 3; ++l) EXPECT_TRUE(torch::equal(g[5 - l], g[l]));  // mirrored
  // non-increasing in the first half for every token, hence a zero at block l zeroes blocks l..L-1-l
  EXPECT_TRUE((g[1] <= g[0]).all().item<bool>() && (g[2] <= g[1]).all().item<bool>());
}

TEST(SkipMiddle, ForwardReturnsMasksGatesAndResidualNorms) {
  auto cfg = small_model(6);
  auto model = build_model(cfg, {"skip_middle", {}});
  auto out = model->forward(torch::randint(0, cfg.vocab_size, {2, 8}));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 8, cfg.vocab_size}));
  ASSERT_EQ(out.soft_masks.size(), 3u);
  ASSERT_EQ(out.accumulated.size(), 3u);
  ASSERT_EQ(out.gates.size(), 6u);
  ASSERT_EQ(out.residual_norms.size(), 6u);
  auto expect = skip_middle_gates(out.soft_masks, 6);
  for (int l = 0; l < 6; ++l) EXPECT_TRUE(torch::allclose(out.gates[l], expect[l]));
  EXPECT_TRUE((out.soft_masks[0] >= 0).all().item<bool>());
  EXPECT_TRUE(torch::allclose(out.accumulated[2], out.soft_masks[0] + out.soft_masks[1] + out.soft_masks[2]));
}

TEST(SkipMiddle, AllGatesZeroMakeTheGatedMiddleAnIdentity) {
  auto cfg = small_model(4);
  auto model = build_model(cfg, {"skip_middle", {}});
  auto* gates = dynamic_cast<SkipMiddleGates*>(model->gates.get());
  ASSERT_NE(gates, nullptr);
  {
    torch::NoGradGuard ng;  // s_0 = ReLU(0 . h + 5) = 5: every token's gate is 0 at every block
    auto* m0 = gates->masks[0]->as<torch::nn::Linear>();
    m0->weight.zero_();
    m0->bias.fill_(5.0);
  }
  auto tokens = torch::randint(0, cfg.vocab_size, {2, 8});
  auto out = model->forward(tokens);
  for (const auto& g : out.gates) EXPECT_EQ(g.abs().max().item<float>(), 0.0f);
  // the residual stream never changes: logits = head(output_norm(input_norm(embedding)))
  torch::NoGradGuard ng;
  auto h = model->input_norm(model->tok_embeddings(tokens));
  EXPECT_TRUE(torch::equal(out.logits, model->output(model->output_norm(h))));
}

TEST(SkipMiddle, ZeroInitMasksKeepGatesOpenAndGetNoGradient) {
  auto cfg = small_model(4);
  auto model = build_model(cfg, {"skip_middle", {{"zero_init_masks", true}}});
  auto out = model->forward(torch::randint(0, cfg.vocab_size, {2, 8}));
  for (const auto& g : out.gates) EXPECT_EQ(g.min().item<float>(), 1.0f);
  (out.logits.pow(2).mean() + torch::stack(out.gates).mean()).backward();
  for (auto& p : model->gates->parameters()) EXPECT_EQ(p.grad().abs().max().item<float>(), 0.0f);
  // random init (the default) does pass gradients to the masks
  auto model2 = build_model(cfg, {"skip_middle", {}});
  auto out2 = model2->forward(torch::randint(0, cfg.vocab_size, {2, 8}));
  (out2.logits.pow(2).mean() + torch::stack(out2.gates).mean()).backward();
  double total = 0;
  for (auto& p : model2->gates->parameters()) total += p.grad().abs().sum().item<double>();
  EXPECT_GT(total, 0.0);
}

// gate_dtype bf16 (the released code's precision): a soft mask of 0.999 is 1.0 in bf16 (spacing 2^-8 below 1),
// so the gate is exactly 0 and the token skips; in fp32 the gate is 0.001 and the block still runs.
TEST(SkipMiddle, Bf16GatesRoundNearOneSumsToExactZeros) {
  auto cfg = small_model(4);
  auto tokens = torch::randint(0, cfg.vocab_size, {2, 8});
  for (const char* dtype : {"fp32", "bf16"}) {
    auto model = build_model(cfg, {"skip_middle", {{"gate_dtype", dtype}}});
    {
      torch::NoGradGuard ng;
      auto sm = std::dynamic_pointer_cast<SkipMiddleGates>(model->gates);
      auto* lin = sm->masks[0]->as<torch::nn::Linear>();
      lin->weight.zero_();
      lin->bias.fill_(0.999);
    }
    auto out = model->forward(tokens);
    EXPECT_EQ(out.gates[0].scalar_type(), torch::kFloat32);
    if (std::string(dtype) == "bf16") {
      EXPECT_EQ(out.gates[0].max().item<float>(), 0.0f) << "0.999 rounds to 1 in bf16: every gate exactly 0";
    } else {
      EXPECT_NEAR(out.gates[0].min().item<float>(), 0.001f, 1e-6);
      EXPECT_GT(out.gates[0].min().item<float>(), 0.0f);
    }
  }
  EXPECT_THROW(build_model(cfg, {"skip_middle", {{"gate_dtype", "fp16"}}}), Error);
}

TEST(SkipMiddle, RefusesOddDepthAndUnknownOptions) {
  auto cfg = small_model(5);
  try {
    build_model(cfg, {"skip_middle", {}});
    FAIL() << "odd L accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("even"), std::string::npos) << e.what();
  }
  EXPECT_THROW(build_model(small_model(4), {"skip_middle", {{"zero_init", true}}}), Error);
  EXPECT_THROW(build_model(small_model(4), {"skip_middle", {{"attention_gate", "query"}}}), Error);
  EXPECT_THROW(build_model(small_model(4), {"no_such_variant", {}}), Error);
  EXPECT_NO_THROW(build_model(small_model(5), {"dense", {}}));  // dense takes any depth
}

TEST(SkipMiddle, DenseHasNoGatesAndNoMaskParameters) {
  auto model = build_model(small_model(4), {"dense", {}});
  auto out = model->forward(torch::randint(0, 32, {1, 4}));
  EXPECT_TRUE(out.gates.empty());
  EXPECT_TRUE(param_groups(*model).masks.empty());
  auto gated = build_model(small_model(4), {"skip_middle", {}});
  auto groups = param_groups(*gated);
  EXPECT_EQ(groups.masks.size(), 4u);                   // 2 masks x (weight, bias)
  EXPECT_EQ(groups.norms.size(), 2u + 4u * 4u);         // input/output + 4 per sandwich block
}

namespace {
// Runs a block with its FFN silenced (w2 = 0) so the output is x + g * (attention branch).
torch::Tensor attention_branch(ModelConfig cfg, double wo_scale, double gate_value) {
  cfg.norm_eps = 1e-10;  // keep eps out of the comparison: the branch is small at initialisation
  torch::manual_seed(5);
  Block block(cfg);
  {
    torch::NoGradGuard ng;
    block->feed_forward->w2->weight.zero_();
    block->attention->wo->weight.mul_(wo_scale);
  }
  torch::manual_seed(6);
  auto x = torch::randn({1, 4, cfg.dim});
  auto tables = rope_tables(4, cfg.head_dim(), cfg.rope_theta, torch::kCPU);
  auto g = torch::full({1, 4}, gate_value);
  return block(x, tables, g, AttentionGate::none) - x;
}
}  // namespace

TEST(NormPlacement, SandwichNormalisesTheBranchPreLNDoesNot) {
  auto cfg = small_model(2);
  cfg.norm = "sandwich";
  // sandwich: x + g * PostNorm(Attn(...)): scaling wo by 10 changes nothing (post-norm), and the branch has RMS g
  auto a1 = attention_branch(cfg, 1.0, 1.0), a10 = attention_branch(cfg, 10.0, 1.0);
  EXPECT_TRUE(torch::allclose(a1, a10, 1e-4, 1e-5));
  EXPECT_NEAR(a1.pow(2).mean(-1).sqrt().mean().item<double>(), 1.0, 1e-3);
  EXPECT_NEAR(attention_branch(cfg, 1.0, 0.25).pow(2).mean(-1).sqrt().mean().item<double>(), 0.25, 1e-3);
  // pre: x + g * Attn(Norm(x)): the branch scales with wo
  cfg.norm = "pre";
  auto p1 = attention_branch(cfg, 1.0, 1.0), p10 = attention_branch(cfg, 10.0, 1.0);
  EXPECT_TRUE(torch::allclose(p10, 10 * p1, 1e-4, 1e-5));
  EXPECT_LT(p1.pow(2).mean().sqrt().item<double>(), 0.5);  // N(0, 0.02) weights: a small branch
}

TEST(NormPlacement, ZeroGateBlockIsExactIdentityInBothSchemes) {
  for (const char* scheme : {"sandwich", "pre"}) {
    auto cfg = small_model(2);
    cfg.norm = scheme;
    Block block(cfg);
    auto x = torch::randn({2, 5, cfg.dim});
    auto tables = rope_tables(5, cfg.head_dim(), cfg.rope_theta, torch::kCPU);
    EXPECT_TRUE(torch::equal(block(x, tables, torch::zeros({2, 5}), AttentionGate::key), x)) << scheme;
    EXPECT_EQ(block->post_attention_norm.is_empty(), std::string(scheme) == "pre");
  }
}
