// test_config.cpp: config files, --set overrides, and the errors for unknown keys, wrong types, bad values.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>

#include "harness/common/error.h"
#include "harness/config/config.h"
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
