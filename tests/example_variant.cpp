// example_variant.cpp: README's "Add a variant in one file" worked example, compiled into the test binary only (so
// `skipbench variants` does not list a toy) with its test below. A file in variants/ is the same minus the test,
// plus its name in variants/CMakeLists.txt. The variant: tokens at odd positions skip the odd blocks.
#include <torch/torch.h>

#include "harness/common/error.h"
#include "harness/registry/variant_registry.h"

#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace skipbench {
namespace {

class EveryOther : public GatePolicy {
 public:
  torch::Tensor gate(int64_t l, const torch::Tensor& h, ForwardOutput&) override {
    if (l % 2 == 0) return {};                                       // even blocks: dense
    auto pos = torch::arange(h.size(1), h.options().dtype(torch::kInt64));
    return (pos % 2 == 0).to(torch::kFloat32).expand({h.size(0), h.size(1)});  // [B, T]: 0 = skip
  }
  AttentionGate attention_gate() const override { return AttentionGate::key; }  // skipped keys invisible
};

const RegisterVariant reg({
    "every_other", "odd positions skip odd blocks (a worked example)",
    {{"min_layers", OptionSpec::Kind::Int, 2, "refuse shallower models", {}}},
    /*gated=*/true,
    [](const ModelConfig& cfg, const boost::json::object&) { return Transformer(cfg, std::make_shared<EveryOther>()); },
    [](const ModelConfig& cfg, const boost::json::object& o) {
      if (cfg.n_layers < o.at("min_layers").to_number<int64_t>())
        throw Error("model.n_layers: every_other needs at least " + std::to_string(o.at("min_layers").to_number<int64_t>()));
    },
});

}  // namespace
}  // namespace skipbench

// The example works as the README says: odd positions skip the odd blocks (their residual passes unchanged there),
// the gates are recorded per block (ones for the ungated even blocks), and the validate function refuses.
TEST(ExampleVariant, OddPositionsSkipTheOddBlocksAndShallowModelsAreRefused) {
  using namespace skipbench;
  const auto cfg = skipbench::testing::small_model(4);
  auto m = build_model(cfg, PluginConfig{"every_other", {}});
  m->eval();
  torch::NoGradGuard ng;
  const auto out = m->forward(torch::randint(cfg.vocab_size, {2, cfg.max_seq_len}, torch::kInt64));
  ASSERT_EQ(out.gates.size(), 4u);
  EXPECT_TRUE(torch::equal(out.gates[0], torch::ones_like(out.gates[0])));
  EXPECT_EQ(out.gates[1].sum().item<double>(), cfg.max_seq_len);  // half of 2 x T
  EXPECT_EQ(out.gates[1][0][1].item<float>(), 0.0f);
  auto shallow = cfg;
  shallow.n_layers = 1;
  EXPECT_NE(skipbench::testing::error_of([&] { build_model(shallow, PluginConfig{"every_other", {}}); })
                .find("model.n_layers: every_other needs at least 2"), std::string::npos);
}
