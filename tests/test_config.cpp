// test_config.cpp: config files, --set overrides, and the errors for unknown keys, wrong types, bad values.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <fstream>

#include "harness/common/error.h"
#include "harness/common/json_field.h"
#include "harness/config/config.h"
#include "harness/data/shard.h"
#include "harness/registry/variant_registry.h"
#include "harness/suite/suite_spec.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;
using skipbench::testing::error_of;

namespace {
std::string write(const TempDir& d, const std::string& name, const std::string& text) {
  std::ofstream(d.file(name)) << text;
  return d.file(name);
}
}  // namespace

TEST(Config, DefaultsAreThePapersOptimizerSettings) {
  Config c = load_config("");
  EXPECT_EQ(c.train.default_group.lr, 1e-3);
  EXPECT_EQ(c.train.default_group.beta1, 0.8);
  EXPECT_EQ(c.train.default_group.beta2, 0.95);
  EXPECT_EQ(c.train.default_group.eps, 1e-10);
  EXPECT_EQ(c.train.default_group.weight_decay, 0.0);
  EXPECT_EQ(c.model.norm, "sandwich");
  EXPECT_EQ(c.model.rope_theta, 10000.0);
  EXPECT_EQ(c.model.hidden(), 4 * c.model.dim);
}

TEST(Config, FileThenSetOverridesAndGroupsInherit) {
  TempDir d;
  auto p = write(d, "c.json", R"({"model": {"n_layers": 6}, "train": {"optimizer": {"default": {"lr": 0.002},
                                   "masks": {"lr": 0.01}}}})");
  Config c = load_config(p, {"model.dim=64", "variant.name=dense", "train.steps=30", "variant.options.x=1"});
  EXPECT_EQ(c.model.n_layers, 6);
  EXPECT_EQ(c.model.dim, 64);
  EXPECT_EQ(c.variant.name, "dense");
  EXPECT_EQ(c.train.steps, 30);
  EXPECT_EQ(c.variant.options.at("x").as_int64(), 1);  // plugin options are checked by the plugin
  EXPECT_EQ(c.train.norms_group.lr, 0.002);             // null: inherits the default group
  EXPECT_EQ(c.train.masks_group.lr, 0.01);
  EXPECT_EQ(c.train.masks_group.beta1, 0.8);
  EXPECT_EQ(c.resolved.at("model").at("dim").as_int64(), 64);  // the report records the resolved values
}

TEST(Config, ErrorsNameTheFileAndJsonPath) {
  TempDir d;
  auto unknown = write(d, "u.json", R"({"model": {"dimm": 3}})");
  auto msg = error_of([&] { load_config(unknown); });
  EXPECT_NE(msg.find(unknown + ": model.dimm: unknown key"), std::string::npos) << msg;
  auto type = write(d, "t.json", R"({"train": {"steps": "many"}})");
  msg = error_of([&] { load_config(type); });
  EXPECT_NE(msg.find("train.steps: expected an integer"), std::string::npos) << msg;
  auto neg = write(d, "n.json", R"({"model": {"dim": -4}})");
  EXPECT_NE(error_of([&] { load_config(neg); }).find("model.dim: must be > 0"), std::string::npos);
  auto bad = write(d, "b.json", R"({"model": {"n_layers": 4,}, oops})");
  msg = error_of([&] { load_config(bad); });
  EXPECT_NE(msg.find("malformed JSON"), std::string::npos) << msg;
  EXPECT_NE(msg.find(bad + ":1:"), std::string::npos) << "line:column of the problem: " << msg;
  EXPECT_NE(error_of([&] { load_config(d.file("missing.json")); }).find("cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { load_config("", {"train.batch_size=10", "train.micro_batch_size=4"}); })
                .find("multiple of train.micro_batch_size"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config("", {"model.norm=post"}); }).find("model.norm"), std::string::npos);
  EXPECT_NE(error_of([&] { load_config("", {"model.nope=1"}); }).find("unknown key"), std::string::npos);
  EXPECT_NE(error_of([&] { load_config("", {"steps"}); }).find("key=value"), std::string::npos);
}

TEST(Config, PresetsLoad) {
  for (const char* p : {"configs/tiny.json", "configs/paper-12l.json"}) {
    Config c = load_config(std::string(SKIPBENCH_SOURCE_DIR) + "/" + p);
    EXPECT_GT(c.train.steps, 0) << p;
  }
  Config paper = load_config(std::string(SKIPBENCH_SOURCE_DIR) + "/configs/paper-12l.json");
  EXPECT_EQ(paper.model.dim, 768);
  EXPECT_EQ(paper.model.n_layers, 12);
  EXPECT_EQ(paper.model.n_heads, 12);
  EXPECT_EQ(paper.model.max_seq_len, 1024);
  EXPECT_EQ(paper.model.vocab_size, 50257);
}

// The one JSON-access helper every reader of a skipbench file goes through (harness/common/json_field.h): each
// error is "<file>: <JSON path>: <what>", with the path down to the element.
TEST(JsonField, ErrorsNameTheFileAndThePathDownToTheElement) {
  const auto doc = boost::json::parse(R"({"a": {"b": [1, 2.5, "x", null], "n": -3, "s": "t", "big": 1e300}})");
  const JsonField f(doc, "f.json");
  EXPECT_EQ(f["a"]["b"][0].integer(), 1);
  EXPECT_EQ(f["a"]["b"][1].number(), 2.5);
  EXPECT_TRUE(std::isnan(f["a"]["b"][3].number_or_nan()));
  EXPECT_EQ(f["a"]["s"].str(), "t");
  EXPECT_FALSE(f["a"].find("zz").has_value());
  EXPECT_EQ(error_of([&] { (void)f["a"]["c"]; }), "f.json: a.c: missing");
  EXPECT_EQ(error_of([&] { (void)f["a"]["b"][7]; }), "f.json: a.b[7]: missing (the array has 4 elements)");
  EXPECT_EQ(error_of([&] { (void)f["a"]["b"].doubles(); }), "f.json: a.b[2]: expected a number or null, got a string (\"x\")");
  EXPECT_EQ(error_of([&] { (void)f["a"]["b"][1].integer(); }), "f.json: a.b[1]: expected an integer, got a number (2.5)");
  EXPECT_EQ(error_of([&] { (void)f["a"]["n"].integer(0); }), "f.json: a.n: must be >= 0, got -3");
  EXPECT_EQ(error_of([&] { (void)f["a"]["big"].integer(); }),
            "f.json: a.big: expected an integer within int64 range, got a number (1e+300)");
  EXPECT_EQ(error_of([&] { (void)f["a"]["s"]["k"]; }), "f.json: a.s: expected an object, got a string (\"t\")");
  EXPECT_EQ(error_of([&] { (void)f["a"].array(); }), "f.json: a: expected an array, got an object");
  EXPECT_EQ(error_of([&] { (void)f.str(); }), "f.json: (top level): expected a string, got an object");
  const boost::json::value part = doc.at("a");
  EXPECT_EQ(error_of([&] { (void)JsonField(part, "f.json", "controller")["q"]; }), "f.json: controller.q: missing");
}

// Boost.JSON 1.81 keeps one of two equal keys silently: a config with "lr" twice trained with whichever it kept.
TEST(Config, DuplicateKeysAreRefusedWithTheirLine) {
  TempDir d;
  auto p = write(d, "dup.json", "{\"train\": {\"steps\": 3,\n  // a comment with \"steps\": 4\n  \"steps\": 5}}");
  EXPECT_EQ(error_of([&] { load_config(p); }),
            p + ":3:3: duplicate key \"steps\" (each key may appear once in an object; remove one of them)");
  // the same key in two objects, or as a string value, is not a duplicate; escapes are compared decoded
  auto ok = write(d, "ok.json", R"({"model": {"dim": 64}, "variant": {"name": "dense", "options": {"dim": "dim"}}})");
  EXPECT_EQ(load_config(ok).model.dim, 64);
  auto esc = write(d, "esc.json", R"({"model": {"dim": 64, "\u0064im": 32}})");
  EXPECT_NE(error_of([&] { load_config(esc); }).find("duplicate key \"dim\""), std::string::npos);
}

namespace {
// A test-only variant that counts its builds; its validate refuses 6 blocks (as skip_middle refuses odd depths).
int g_counting_builds = 0;
const RegisterVariant counting_variant({"test_counting", "test only: counts builds", {}, /*gated=*/false,
                                        [](const ModelConfig& c, const boost::json::object&) {
                                          ++g_counting_builds;
                                          return Transformer(c, nullptr);
                                        },
                                        [](const ModelConfig& c, const boost::json::object&) {
                                          if (c.n_layers == 6) throw Error("model.n_layers: test_counting refuses 6");
                                        }});
}  // namespace

// Suite validation resolves every run (the variant's own refusals included) without building a model: a 30-run
// suite of large models used to build each distinct one up front (issue 14).
TEST(Suite, ValidationRefusesWhatTheVariantRefusesWithoutBuildingAModel) {
  TempDir d;
  data::write_shard(d.file("t_000.bin"), ::skipbench::testing::patterned_tokens(4096, 64));
  auto spec = [&](const std::string& depths) {
    return write(d, "s.json", R"({"name": "v", "budget": {"kind": "steps", "value": 1}, "seeds": [0, 1],
      "set": {"model.vocab_size": 64, "model.dim": 32, "model.n_heads": 4, "model.max_seq_len": 16,
              "data.train": ")" + d.file("t_*.bin") + R"(", "data.val": ")" + d.file("t_*.bin") + R"("},
      "groups": [{"name": "c", "variant": "test_counting", "grid": {"model.n_layers": [)" + depths + "]}}]}");
  };
  g_counting_builds = 0;
  const Suite ok = load_suite(spec("2, 4"));
  EXPECT_EQ(ok.runs.size(), 4u);
  EXPECT_EQ(g_counting_builds, 0);
  const std::string p = spec("2, 6");
  EXPECT_EQ(error_of([&] { load_suite(p); }),
            p + ": groups[0] (run c-n_layers_6): model.n_layers: test_counting refuses 6");
  EXPECT_EQ(g_counting_builds, 0);
  // build_model validates too: the same refusal, before anything is built
  ModelConfig m = ::skipbench::testing::small_model(6);
  EXPECT_EQ(error_of([&] { build_model(m, PluginConfig{"test_counting", {}}); }), "model.n_layers: test_counting refuses 6");
  EXPECT_EQ(g_counting_builds, 0);
  m.n_layers = 4;
  build_model(m, PluginConfig{"test_counting", {}});
  EXPECT_EQ(g_counting_builds, 1);
}

// A group naming the base config's own variant keeps the base's variant options (its "options" override them);
// a group naming another variant starts from none.
TEST(Suite, AGroupOfTheBaseVariantKeepsItsOptionsAnotherVariantStartsFromNone) {
  TempDir d;
  data::write_shard(d.file("t_000.bin"), ::skipbench::testing::patterned_tokens(4096, 64));
  const std::string base = write(d, "base.json", R"({"model": {"vocab_size": 64, "dim": 32, "n_heads": 4,
      "max_seq_len": 16, "n_layers": 4}, "variant": {"name": "skip_middle", "options": {"mask_init_std": 0.001,
      "zero_init_masks": false}}, "data": {"train": ")" + d.file("t_*.bin") + R"(", "val": ")" + d.file("t_*.bin") + R"("}})");
  const std::string p = write(d, "s.json", R"({"name": "v", "base": ")" + base + R"(",
      "budget": {"kind": "steps", "value": 1}, "seeds": [0],
      "groups": [{"name": "same", "variant": "skip_middle"},
                 {"name": "over", "variant": "skip_middle", "options": {"mask_init_std": 0.5}},
                 {"name": "other", "variant": "dense"}]})");
  const Suite s = load_suite(p);
  ASSERT_EQ(s.runs.size(), 3u);
  auto opts = [&](size_t i) {
    const auto* o = s.runs[i].config.at("variant").as_object().if_contains("options");
    return o ? o->as_object() : boost::json::object{};
  };
  auto has = [&](size_t i, const char* k) { return opts(i).contains(k); };
  ASSERT_TRUE(has(0, "mask_init_std") && has(1, "mask_init_std") && has(1, "zero_init_masks"))
      << boost::json::serialize(s.runs[1].config.at("variant"));
  EXPECT_EQ(opts(0).at("mask_init_std").to_number<double>(), 0.001);
  EXPECT_EQ(opts(0).at("zero_init_masks").as_bool(), false);
  EXPECT_EQ(opts(1).at("mask_init_std").to_number<double>(), 0.5);
  EXPECT_EQ(opts(1).at("zero_init_masks").as_bool(), false) << "the group's options merge over the base's";
  EXPECT_TRUE(opts(2).empty()) << "dense starts from no options";
}
