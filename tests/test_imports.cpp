// test_imports.cpp: weights from elsewhere (harness/imports/): the safetensors reader and writer (round trip of
// every dtype, structural faults refused with the file named); `import skip-middle` on a checkpoint written in the
// released code's layout (prefix model., masks.J.linear.*, a bf16 embedding): the imported run's logits are those of
// the source model (with its embedding rounded to bf16, the only lossy step), missing / extra / mis-shaped tensors
// and Llama 3.1 RoPE scaling are refused; the core's SmolLM2 switches: a tied head is the embedding matrix (one
// parameter, gradients from both uses) and input_norm = false feeds the raw embedding to block 0; and the layer
// ablation's span losses equal those of the model with the span's blocks pruned away (an independent path).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <fstream>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/data/loader.h"
#include "harness/data/shard.h"
#include "harness/imports/import_run.h"
#include "harness/imports/safetensors.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/checkpoint.h"
#include "harness/train/layer_ablation.h"
#include "harness/train/prune.h"
#include "harness/train/trainer.h"
#include "harness/metrics/run_report.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::error_of;
using skipbench::testing::TempDir;
namespace json = boost::json;

namespace {
void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A skip_middle model with random (non-zero) masks, as the released gated runs have them.
Transformer gated_model(const ModelConfig& cfg) {
  torch::manual_seed(3);
  auto m = build_model(cfg, {"skip_middle", {}});
  torch::NoGradGuard ng;
  for (auto& p : m->gates->parameters()) p.normal_(0.0, 0.3);
  return m;
}

// The model's tensors under the released code's names (what its Transformer.state_dict() holds, prefixed "model."
// as in the Hugging Face wrapper), the embedding in bf16 as it trains it.
std::vector<std::pair<std::string, torch::Tensor>> released_layout(Transformer& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& item : m->named_parameters(true)) {
    std::string k = item.key();
    torch::Tensor t = item.value().detach().clone();
    if (k.rfind("gates.masks.", 0) == 0) {  // gates.masks.J.weight -> masks.J.linear.weight
      const auto rest = k.substr(12);
      const auto dot = rest.find('.');
      k = "masks." + rest.substr(0, dot) + ".linear" + rest.substr(dot);
    }
    if (k == "tok_embeddings.weight") t = t.to(torch::kBFloat16);
    out.emplace_back("model." + k, t);
  }
  return out;
}

void write_released(const std::string& dir, Transformer& m, const ModelConfig& c, const std::string& extra = "") {
  fs::make_dirs(dir);
  write_safetensors(fs::join(dir, "model.safetensors"), released_layout(m));
  write_text(fs::join(dir, "config.json"),
             "{\"dim\": " + std::to_string(c.dim) + ", \"n_layers\": " + std::to_string(c.n_layers) +
                 ", \"n_heads\": " + std::to_string(c.n_heads) + ", \"n_kv_heads\": " + std::to_string(c.kv_heads()) +
                 ", \"vocab_size\": " + std::to_string(c.vocab_size) +
                 ", \"multiple_of\": 256, \"ffn_dim_multiplier\": 4, \"norm_eps\": 1e-05, \"rope_theta\": 10000, "
                 "\"max_seq_len\": " + std::to_string(c.max_seq_len) + ", \"zero_init_masks\": false" + extra + "}");
}

torch::Tensor tokens_for(const ModelConfig& c) {
  torch::manual_seed(11);
  return torch::randint(0, c.vocab_size, {3, c.max_seq_len}, torch::kLong);
}
}  // namespace

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  TempDir d;
  torch::manual_seed(0);
  std::vector<std::pair<std::string, torch::Tensor>> ts{
      {"f32", torch::randn({3, 5})}, {"bf16", torch::randn({7}).to(torch::kBFloat16)},
      {"f16", torch::randn({2, 2}).to(torch::kFloat16)}, {"i64", torch::arange(10)},
      {"u8", torch::arange(5).to(torch::kUInt8)}, {"empty", torch::zeros({0, 4})}, {"scalar", torch::tensor(2.5)}};
  write_safetensors(d.file("a.safetensors"), ts, {{"format", "pt"}});
  const auto f = read_safetensors(d.file("a.safetensors"));
  ASSERT_EQ(f.tensors.size(), ts.size());
  for (const auto& [name, t] : ts) {
    const auto& got = f.tensors.at(name);
    EXPECT_EQ(got.scalar_type(), t.scalar_type()) << name;
    EXPECT_EQ(got.sizes(), t.sizes()) << name;
    EXPECT_TRUE(torch::equal(got, t)) << name;
  }
  EXPECT_EQ(f.metadata.at("format"), "pt");
  // the header length is a multiple of 8 (data aligned), and the data follow it exactly
  const std::string bytes = read_text(d.file("a.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
}

TEST(Safetensors, RefusesDamagedFilesNamingThem) {
  TempDir d;
  write_safetensors(d.file("ok.safetensors"), {{"w", torch::ones({4, 4})}});
  const std::string good = read_text(d.file("ok.safetensors"));
  auto with = [&](const std::string& name, const std::string& bytes) {
    write_text(d.file(name), bytes);
    return error_of([&] { read_safetensors(d.file(name)); });
  };
  EXPECT_NE(with("short", good.substr(0, 5)).find("shorter than its 8-byte header"), std::string::npos);
  EXPECT_NE(with("trunc", good.substr(0, good.size() - 4)).find("outside the"), std::string::npos);
  std::string huge = good;
  huge[5] = '\x7f';
  EXPECT_NE(with("huge", huge).find("exceeds the file"), std::string::npos);
  auto header = [&](const std::string& h, size_t data) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((h.size() >> (8 * i)) & 0xff);
    return s + h + std::string(data, '\0');
  };
  EXPECT_NE(with("dtype", header(R"({"w":{"dtype":"Q4","shape":[2],"data_offsets":[0,2]}})", 2)).find("unsupported dtype"),
            std::string::npos);
  EXPECT_NE(with("size", header(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8)).find("4 bytes for 2 x F32"),
            std::string::npos);
  EXPECT_NE(with("overlap", header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                   R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)).find("overlap"),
            std::string::npos);
  EXPECT_NE(with("json", header("{not json", 0)).find(d.file("json")), std::string::npos);  // malformed JSON, named
}

TEST(ImportSkipMiddle, ReleasedLayoutGivesTheSourceModelsLogits) {
  TempDir d;
  const ModelConfig c = skipbench::testing::small_model(4);
  auto src = gated_model(c);
  write_released(d.file("ckpt"), src, c);
  import_skip_middle(d.file("ckpt"), d.file("run"));
  auto run = load_run(d.file("run"));
  EXPECT_EQ(run.config.variant.name, "skip_middle");
  EXPECT_EQ(run.config.model.hidden(), c.hidden());  // the FFN width came from the weights
  const auto x = tokens_for(c);
  torch::NoGradGuard ng;
  run.model->eval();
  src->eval();
  const auto got = run.model->forward(x);
  // the import rounded the embedding to bf16 (the released dtype); the source with the same rounding is exact
  const auto before = src->forward(x).logits;
  src->tok_embeddings->weight.copy_(src->tok_embeddings->weight.to(torch::kBFloat16).to(torch::kFloat32));
  const auto want = src->forward(x);
  EXPECT_TRUE(torch::equal(got.logits, want.logits));
  EXPECT_FALSE(torch::equal(got.logits, before));  // the rounding is real, so the comparison above can fail
  ASSERT_EQ(got.gates.size(), want.gates.size());
  for (size_t l = 0; l < got.gates.size(); ++l) EXPECT_TRUE(torch::equal(got.gates[l], want.gates[l]));
  const auto rep = read_json_file(d.file("run/run.json")).as_object();
  EXPECT_EQ(rep.at("status").as_string(), "completed");
  EXPECT_EQ(rep.at("imported").at("format").as_string(), "skip-middle");
}

TEST(ImportSkipMiddle, RefusesWhatDoesNotFit) {
  TempDir d;
  const ModelConfig c = skipbench::testing::small_model(4);
  auto src = gated_model(c);
  // one tensor missing
  {
    auto t = released_layout(src);
    t.erase(t.begin() + 3);
    write_released(d.file("a"), src, c);
    write_safetensors(d.file("a/model.safetensors"), t);
    EXPECT_NE(error_of([&] { import_skip_middle(d.file("a"), d.file("ra")); }).find("no tensor for"), std::string::npos);
  }
  // one tensor too many
  {
    auto t = released_layout(src);
    t.emplace_back("model.layers.9.attention.wq.weight", torch::zeros({2, 2}));
    write_released(d.file("b"), src, c);
    write_safetensors(d.file("b/model.safetensors"), t);
    EXPECT_NE(error_of([&] { import_skip_middle(d.file("b"), d.file("rb")); }).find("has no place in the model"),
              std::string::npos);
  }
  // a config that disagrees with the weights
  {
    ModelConfig wrong = c;
    wrong.n_kv_heads = c.n_heads;  // 4 kv heads claimed, 2 stored
    write_released(d.file("c"), src, wrong);
    EXPECT_NE(error_of([&] { import_skip_middle(d.file("c"), d.file("rc")); }).find("has shape"), std::string::npos);
  }
  write_released(d.file("e"), src, c, ", \"use_scaled_rope\": true");
  EXPECT_NE(error_of([&] { import_skip_middle(d.file("e"), d.file("re")); }).find("use_scaled_rope"), std::string::npos);
  EXPECT_NE(error_of([&] { import_skip_middle(d.file("nothing"), d.file("rn")); }).find("config.json"), std::string::npos);
  // the output directory of a finished import is not overwritten
  write_released(d.file("f"), src, c);
  import_skip_middle(d.file("f"), d.file("rf"));
  EXPECT_NE(error_of([&] { import_skip_middle(d.file("f"), d.file("rf")); }).find("already exists"), std::string::npos);
}

TEST(PretrainedSwitches, TiedHeadIsTheEmbeddingMatrix) {
  ModelConfig c = skipbench::testing::small_model(2);
  c.tie_embeddings = true;
  torch::manual_seed(0);
  auto m = build_model(c, {"dense", {}});
  EXPECT_FALSE(m->output);
  EXPECT_EQ(m->head_weight().data_ptr(), m->tok_embeddings->weight.data_ptr());  // one matrix, used twice
  EXPECT_FALSE(m->named_parameters(true).contains("output.weight"));
  const auto x = tokens_for(c);
  auto out = m->forward(x);
  out.logits.sum().backward();
  EXPECT_GT(m->tok_embeddings->weight.grad().abs().sum().item<double>(), 0.0);
  // rows of tokens not in the batch get gradient through the head only (tied): an untied model leaves them 0
  ModelConfig u = c;
  u.tie_embeddings = false;
  auto mu = build_model(u, {"dense", {}});
  auto count = [](Transformer& t) {
    int64_t n = 0;
    for (const auto& p : t->parameters()) n += p.numel();
    return n;
  };
  EXPECT_EQ(count(mu) - count(m), c.vocab_size * c.dim);  // the untied head's matrix is the only difference
  mu->forward(x).logits.sum().backward();
  const auto unused = torch::ones({c.vocab_size}, torch::kBool).index_put_({x.reshape(-1)}, torch::tensor(false));
  if (unused.any().item<bool>()) {
    EXPECT_EQ(mu->tok_embeddings->weight.grad().index({unused}).abs().sum().item<double>(), 0.0);
    EXPECT_GT(m->tok_embeddings->weight.grad().index({unused}).abs().sum().item<double>(), 0.0);
  }
}

TEST(PretrainedSwitches, NoInputNormFeedsTheRawEmbedding) {
  ModelConfig c = skipbench::testing::small_model(2);
  c.input_norm = false;
  torch::manual_seed(0);
  auto m = build_model(c, {"dense", {}});
  EXPECT_FALSE(m->input_norm);
  const auto x = tokens_for(c);
  torch::NoGradGuard ng;
  m->eval();
  const RopeTables rope = rope_tables(c.max_seq_len, c.head_dim(), c.rope_theta, torch::kCPU);
  auto h = m->tok_embeddings(x);
  for (auto& b : m->blocks) h = b->forward(h, rope, {}, AttentionGate::none);
  EXPECT_TRUE(torch::equal(m->forward(x).logits, m->output(m->output_norm(h))));
  // and with the norm the same weights give other logits (the switch does something)
  ModelConfig n = c;
  n.input_norm = true;
  auto mn = build_model(n, {"dense", {}});
  for (auto& item : m->named_parameters(true)) mn->named_parameters(true)[item.key()].copy_(item.value());
  mn->eval();
  EXPECT_FALSE(torch::allclose(mn->forward(x).logits, m->forward(x).logits));
}

TEST(LayerAblation, SpanLossesEqualThePrunedModels) {
  TempDir d;
  const ModelConfig c = skipbench::testing::small_model(6);
  data::write_shard(d.file("v_000.bin"), skipbench::testing::patterned_tokens(4096, c.vocab_size));
  data::TokenLoader loader(d.file("v_*.bin"), "data", c.vocab_size, 4, c.max_seq_len);
  torch::manual_seed(5);
  auto m = build_model(c, {"dense", {}});
  LayerAblationOptions o;
  o.lengths = {1, 2};
  o.max_batches = 2;
  const auto r = layer_ablation(m, loader, o, torch::kCPU);
  // the same batches through the pruned model (drop_blocks copies the kept blocks into a shallower model)
  auto loss_without = [&](std::vector<int64_t> drop) {
    auto p = drop_blocks(m, c, drop);
    torch::NoGradGuard ng;
    p->eval();
    loader.reset();
    double sum = 0, n = 0;
    for (int i = 0; i < 2; ++i) {
      const auto b = loader.next();
      const auto lg = p->forward(b.inputs).logits;
      sum += torch::nn::functional::cross_entropy(lg.reshape({-1, lg.size(-1)}), b.targets.reshape({-1}),
                                                  torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                 .item<double>();
      n += b.targets.numel();
    }
    return sum / n;
  };
  EXPECT_NEAR(r.at("base_loss").as_double(), loss_without({}), 1e-6);
  int checked = 0;
  for (const auto& v : r.at("spans").as_array()) {
    const auto s = v.at("start").as_int64(), k = v.at("length").as_int64();
    std::vector<int64_t> drop;
    for (int64_t l = s; l < s + k; ++l) drop.push_back(l);
    EXPECT_NEAR(v.at("loss").as_double(), loss_without(drop), 1e-5) << "span " << s << "+" << k;
    ++checked;
  }
  EXPECT_EQ(checked, 6 + 5);  // lengths 1 and 2 at every start (the length-2 profiles are among them)
  // profiles: middle-out of length 2 in a 6-block model is blocks 2-3
  const auto& mid = r.at("profiles").at("middle_out").as_array();
  ASSERT_EQ(mid.size(), 1u);
  EXPECT_EQ(mid[0].at("start").as_int64(), 2);
  EXPECT_EQ(r.at("redundancy").at("block_influence").as_array().size(), 6u);
  // gated runs and impossible lengths are refused
  o.lengths = {6};
  EXPECT_NE(error_of([&] { layer_ablation(m, loader, o, torch::kCPU); }).find("span length must be in 1..5"),
            std::string::npos);
  auto g = build_model(c, {"skip_middle", {}});
  o.lengths = {1};
  EXPECT_NE(error_of([&] { layer_ablation(g, loader, o, torch::kCPU); }).find("dense runs only"), std::string::npos);
}

TEST(FrozenGates, OnlyTheMasksTrainOverAnImportedModel) {
  TempDir d;
  Config dense = skipbench::testing::small_run_config(d, "dense", 3);
  ASSERT_EQ(train(dense, d.file("dense")).status, "completed");
  Config gated = skipbench::testing::small_run_config(d, "skip_middle", 4);
  gated.train.init_from = d.file("dense");
  gated.train.freeze = "all_but_masks";
  gated.variant.options["zero_init_masks"] = false;
  ASSERT_EQ(train(gated, d.file("gated")).status, "completed");
  auto src = load_run(d.file("dense"));
  auto out = load_run(d.file("gated"));
  auto before = src.model->named_parameters(true);
  int64_t masks = 0;
  for (const auto& item : out.model->named_parameters(true)) {
    if (item.key().rfind("gates.", 0) == 0) {
      masks += item.value().numel();
      continue;
    }
    EXPECT_TRUE(torch::equal(item.value(), before[item.key()])) << item.key() << " moved although frozen";
  }
  // the masks did train: a gated model initialised alike but not trained has other mask weights
  torch::manual_seed(gated.train.seed);
  auto fresh = build_model(gated.model, gated.variant);
  bool moved = false;
  for (const auto& item : out.model->gates->named_parameters(true))
    moved = moved || !torch::equal(item.value(), fresh->gates->named_parameters(true)[item.key()]);
  EXPECT_TRUE(moved);
  const auto rep = read_run_report(d.file("gated/run.json"));
  EXPECT_EQ(rep.at("model").at("parameters_by_group").at("trainable").as_int64(), masks);
  EXPECT_EQ(rep.at("model").at("initialised_fresh").as_array().size(), out.model->gates->named_parameters(true).size());
  // a dense model with everything but masks frozen has nothing to train; other shapes do not load
  Config nothing = dense;
  nothing.train.init_from = d.file("dense");
  nothing.train.freeze = "all_but_masks";
  EXPECT_NE(error_of([&] { train(nothing, ""); }).find("leaves nothing to train"), std::string::npos);
  Config wider = gated;
  wider.model.dim = 64;
  wider.model.n_heads = 4;
  EXPECT_NE(error_of([&] { train(wider, ""); }).find("another shape"), std::string::npos);
}

TEST(FrozenGates, MaskInitStdSetsTheMaskWeightsScale) {
  const ModelConfig c = skipbench::testing::small_model(4);
  auto mask_std = [&](double s) {
    torch::manual_seed(0);
    auto m = build_model(c, {"skip_middle", {{"mask_init_std", s}}});
    std::vector<torch::Tensor> w;
    for (auto& item : m->gates->named_parameters(true))
      if (item.key().find("weight") != std::string::npos) w.push_back(item.value().reshape({-1}));
    return torch::cat(w).std().item<double>();  // 2 masks x 32 weights
  };
  EXPECT_NEAR(mask_std(0.0), 0.02, 0.008);  // 0: the model's init_std, the paper's
  EXPECT_NEAR(mask_std(0.5), 0.5, 0.15);
  EXPECT_NE(error_of([&] { build_model(c, {"skip_middle", {{"mask_init_std", -1.0}}}); }).find("mask_init_std"),
            std::string::npos);
}
