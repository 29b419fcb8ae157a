// test_token_analysis.cpp: the synthetic difficulty data, `which tokens skip` in a run report, eval of a saved
// run with and without hard skip.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <boost/json.hpp>
#include <cmath>

#include "harness/data/synthetic.h"
#include "harness/train/checkpoint.h"
#include "harness/train/evaluate.h"
#include "harness/train/trainer.h"
#include "tests/test_util.h"

using namespace skipbench;
using skipbench::testing::TempDir;

TEST(Synthetic, CopiedSpansRepeatEarlierContextAndLabelsAlign) {
  data::SynthOptions o;
  o.vocab = 100;
  std::vector<uint16_t> t, l;
  data::synth_stream(o, 5000, 7, t, l);
  ASSERT_EQ(t.size(), 5000u);
  ASSERT_EQ(l.size(), 5000u);
  int64_t counts[3] = {0, 0, 0};
  for (size_t i = 0; i < l.size(); ++i) {
    ++counts[l[i]];
    if (l[i] == data::kCopied) {
      EXPECT_TRUE(l[i - 1] == data::kCopyStart || l[i - 1] == data::kCopied) << i;
    }
  }
  EXPECT_GT(counts[0], 1000);
  EXPECT_GT(counts[2], 1000);
  // every copied token equals some token up to `lookback` earlier, with its predecessor matching too
  for (size_t i = 1; i < t.size(); ++i) {
    if (l[i] != data::kCopied) continue;
    bool found = false;
    for (size_t back = 1; back <= static_cast<size_t>(o.lookback) && back < i && !found; ++back)
      found = t[i - back] == t[i] && t[i - back - 1] == t[i - 1];
    EXPECT_TRUE(found) << i;
  }
  std::vector<uint16_t> t2, l2;
  data::synth_stream(o, 5000, 7, t2, l2);
  EXPECT_EQ(t, t2);  // deterministic for a seed
}

TEST(WhichTokensSkip, TinyRunOnSyntheticDataReportsDepthPerClass) {
  TempDir d;
  data::SynthOptions o;
  o.vocab = 32;
  o.train_tokens = 20000;
  o.val_tokens = 3000;
  o.lookback = 12;  // copies must come from within a 16-token window to be learnable
  o.span_min = 4;
  o.span_max = 8;
  data::write_synthetic(o, d.file("synth"));
  Config cfg = skipbench::testing::small_run_config(d, "skip_middle", 40);
  cfg.data.train = d.file("synth/train_000000.bin");
  cfg.data.val = d.file("synth/val_000000.bin");
  cfg.data.val_labels = d.file("synth/val_labels_000000.bin");
  cfg.train.controller = {"sparsity", {{"coef", 0.3}}};
  auto r = train(cfg, d.file("run"));
  const auto& w = r.report.at("which_tokens_skip").as_object();
  ASSERT_TRUE(w.contains("by_difficulty_class"));
  const auto& classes = w.at("by_difficulty_class").as_array();
  ASSERT_EQ(classes.size(), 3u);
  double total = 0;
  for (const auto& c : classes) total += c.at("tokens").to_number<double>();
  EXPECT_EQ(total, w.at("tokens").to_number<double>());
  // random tokens cannot be predicted: their loss stays near ln(32) while copied ones may fall below it
  EXPECT_GT(classes[0].at("mean_loss").to_number<double>(), std::log(32.0) - 0.3);
  const double depth = w.at("mean_skip_depth").to_number<double>();
  EXPECT_GE(depth, 0.0);
  EXPECT_LE(depth, 4.0);
  const double rho = w.at("spearman_depth_loss").to_number<double>();
  EXPECT_TRUE(rho >= -1.0 && rho <= 1.0);
  // histogram fractions sum to one
  double frac = 0;
  for (const auto& h : w.at("histogram").as_array()) frac += h.at("fraction").to_number<double>();
  EXPECT_NEAR(frac, 1.0, 1e-9);

  // the saved run reloads and evaluates to the reported validation loss; hard skip agrees closely
  auto run = load_run(d.file("run"));
  data::TokenLoader val(cfg.data.val, "val", 32, cfg.train.micro_batch_size, 16);
  EvalOptions eo;
  auto soft = evaluate(run.model, val, run.config, torch::kCPU, eo);
  EXPECT_NEAR(soft.loss, r.val_loss.back(), 1e-5);
  eo.hard_skip = true;
  auto hard = evaluate(run.model, val, run.config, torch::kCPU, eo);
  EXPECT_NEAR(hard.loss, soft.loss, 1e-2);
  EXPECT_LE(hard.computed_fraction, 1.0);
}
