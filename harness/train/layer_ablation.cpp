// layer_ablation.cpp: see layer_ablation.h.
#include "harness/train/layer_ablation.h"

#include <torch/torch.h>

#include <map>
#include <set>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/model/rope.h"
#include "harness/train/prune.h"

namespace skipbench {
namespace json = boost::json;

json::object layer_ablation(Transformer& model, data::TokenLoader& data, const LayerAblationOptions& o,
                            const torch::Device& device) {
  const int64_t L = model->cfg.n_layers;
  if (model->gates) throw Error("layer-ablation: dense runs only (a gated variant's gates are tied to every block)");
  if (o.max_batches < 0) throw Error("--max-batches: must be >= 0 (0: the whole split)");
  if (o.lengths.empty()) throw Error("--lengths: give at least one span length");
  for (auto k : o.lengths)
    if (k < 1 || k >= L)
      throw Error("--lengths: each span length must be in 1.." + std::to_string(L - 1) + " for this " +
                  std::to_string(L) + "-block model, got " + std::to_string(k));
  // the spans: (start, length); length 0 is the whole model
  std::set<std::pair<int64_t, int64_t>> spans{{0, 0}};
  for (auto k : o.lengths)
    for (int64_t s = 0; s + k <= L; ++s) spans.insert({s, k});
  std::vector<int64_t> profile_lengths;  // even lengths up to half the model: what symmetric middle spans can be
  for (int64_t k = 2; k <= L / 2; k += 2) profile_lengths.push_back(k);
  auto middle_start = [&](int64_t k) { return (L - k) / 2; };  // blocks m..L-1-m when L - k is even
  for (auto k : profile_lengths) {
    spans.insert({middle_start(k), k});
    spans.insert({0, k});
    spans.insert({L - k, k});
  }

  torch::NoGradGuard ng;
  model->eval();
  std::map<std::pair<int64_t, int64_t>, double> loss_sum;
  double tokens = 0;
  int64_t batches = 0;
  data.reset();
  while (data.has_next_in_epoch() && (o.max_batches == 0 || batches < o.max_batches)) {
    const auto b = data::to_device(data.next(), device);
    const RopeTables rope = rope_tables(b.inputs.size(1), model->cfg.head_dim(), model->cfg.rope_theta, device);
    std::vector<torch::Tensor> h{model->embed(b.inputs)};  // h[l]: the residual entering block l
    for (int64_t l = 0; l < L; ++l) h.push_back(model->blocks[l]->forward(h[l], rope, {}, AttentionGate::none));
    const auto targets = b.targets.reshape({-1});
    for (const auto& [s, k] : spans) {
      auto x = h[k == 0 ? L : s];
      if (k > 0)
        for (int64_t l = s + k; l < L; ++l) x = model->blocks[l]->forward(x, rope, {}, AttentionGate::none);
      const auto logits = model->head(x).to(torch::kFloat32);
      loss_sum[{s, k}] +=
          torch::nn::functional::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets,
                                               torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
              .item<double>();
    }
    tokens += static_cast<double>(targets.numel());
    ++batches;
  }
  if (!(tokens > 0)) throw Error("layer-ablation: the data gave no batch (is the split shorter than one batch?)");
  auto loss = [&](int64_t s, int64_t k) { return loss_sum.at({s, k}) / tokens; };
  const double base = loss(0, 0);
  json::array all;
  for (const auto& [sk, _] : loss_sum) {
    if (sk.second == 0) continue;
    all.push_back(json::object{{"start", sk.first}, {"length", sk.second}, {"blocks", json::array{sk.first, sk.first + sk.second - 1}},
                               {"loss", loss(sk.first, sk.second)}, {"delta", loss(sk.first, sk.second) - base}});
  }
  auto row = [&](int64_t s, int64_t k) {
    return json::object{{"length", k}, {"start", s}, {"loss", loss(s, k)}, {"delta", loss(s, k) - base}};
  };
  json::array middle, early, late, best;
  for (auto k : profile_lengths) {
    middle.push_back(row(middle_start(k), k));
    early.push_back(row(0, k));
    late.push_back(row(L - k, k));
  }
  for (auto k : o.lengths) {  // the least harmful span of each swept length, and where the middle one ranks
    int64_t bs = 0, rank_mid = 1;
    for (int64_t s = 1; s + k <= L; ++s)
      if (loss(s, k) < loss(bs, k)) bs = s;
    const int64_t ms = middle_start(k);
    for (int64_t s = 0; s + k <= L; ++s)
      if (loss(s, k) < loss(ms, k)) ++rank_mid;
    auto r = row(bs, k);
    r["middle_start"] = ms;
    r["middle_delta"] = loss(ms, k) - base;
    r["middle_rank"] = rank_mid;
    r["spans"] = L - k + 1;
    best.push_back(r);
  }
  const Redundancy red = measure_redundancy(model, data, o.max_batches, device);
  return json::object{{"schema", "skipbench.layer_ablation"},
                      {"schema_version", 1},
                      {"n_layers", L},
                      {"tokens", tokens},
                      {"batches", batches},
                      {"max_batches", o.max_batches},
                      {"base_loss", base},
                      {"lengths", json_array(o.lengths)},
                      {"spans", all},
                      {"profiles", json::object{{"middle_out", middle}, {"early", early}, {"late", late}}},
                      {"best_per_length", best},
                      {"redundancy", red.to_json()},
                      {"method", "a span's blocks are identities (the residual passes them); loss is the mean "
                                 "next-token cross-entropy over the same batches for every span"}};
}

}  // namespace skipbench
