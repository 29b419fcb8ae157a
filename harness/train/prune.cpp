// prune.cpp: see prune.h.
#include "harness/train/prune.h"

#include <torch/torch.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <numeric>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/model/rope.h"

namespace skipbench {
namespace json = boost::json;

json::object Redundancy::to_json() const {
  json::array ang;
  for (const auto& row : angular) ang.push_back(json_array(row));
  return {{"block_influence", json_array(block_influence)},
          {"block_influence_definition", "1 - cos(h_l, h_{l+1}) averaged over every token (ShortGPT)"},
          {"angular_distance", ang},
          {"angular_distance_definition",
           "angular_distance[n-1][l] = arccos(cos(h_l, h_{l+n})) / pi at each sequence's last position, averaged over "
           "sequences (Gromov et al.); h_l is the residual entering block l"},
          {"tokens", tokens},
          {"sequences", sequences}};
}

Redundancy measure_redundancy(Transformer& model, data::TokenLoader& data, int64_t max_batches,
                              const torch::Device& device) {
  torch::NoGradGuard ng;
  model->eval();
  const int64_t L = model->cfg.n_layers;
  std::vector<double> bi_sum(L, 0.0);
  std::vector<std::vector<double>> ang_sum(L);
  for (int64_t n = 1; n <= L; ++n) ang_sum[n - 1].assign(L - n + 1, 0.0);
  Redundancy r;
  data.reset();
  int64_t batches = 0;
  while (data.has_next_in_epoch() && (max_batches == 0 || batches < max_batches)) {
    const auto b = data::to_device(data.next(), device);
    const RopeTables rope = rope_tables(b.inputs.size(1), model->cfg.head_dim(), model->cfg.rope_theta, device);
    auto x = model->embed(b.inputs);
    std::vector<torch::Tensor> h{x.to(torch::kFloat64)};
    for (int64_t l = 0; l < L; ++l) {
      x = model->blocks[l]->forward(x, rope, torch::Tensor(), AttentionGate::none);
      h.push_back(x.to(torch::kFloat64));
    }
    for (int64_t l = 0; l < L; ++l)  // every token
      bi_sum[l] += (1.0 - torch::cosine_similarity(h[l], h[l + 1], -1)).sum().item<double>();
    std::vector<torch::Tensor> last;
    for (const auto& t : h) last.push_back(t.select(1, t.size(1) - 1));  // [B, dim] at the last position
    for (int64_t n = 1; n <= L; ++n)
      for (int64_t l = 0; l + n <= L; ++l) {
        const auto c = torch::cosine_similarity(last[l], last[l + n], -1).clamp(-1.0, 1.0);
        ang_sum[n - 1][l] += (torch::acos(c) / M_PI).sum().item<double>();
      }
    r.tokens += static_cast<double>(b.inputs.numel());
    r.sequences += b.inputs.size(0);
    ++batches;
  }
  if (r.sequences == 0) throw Error("prune: no batch to measure on (the split has no window; give --data)");
  for (int64_t l = 0; l < L; ++l) r.block_influence.push_back(bi_sum[l] / r.tokens);
  for (auto& row : ang_sum) {
    for (auto& v : row) v /= static_cast<double>(r.sequences);
    r.angular.push_back(row);
  }
  return r;
}

std::vector<int64_t> blocks_to_drop(const Redundancy& r, int64_t drop, const std::string& method) {
  const auto L = static_cast<int64_t>(r.block_influence.size());
  if (drop < 0 || drop >= L)
    throw Error("--drop: must be in [0, " + std::to_string(L - 1) + "] for a model of " + std::to_string(L) +
                " blocks, got " + std::to_string(drop));
  std::vector<int64_t> out;
  if (drop == 0) return out;
  if (method == "influence") {
    std::vector<int64_t> order(L);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return r.block_influence[a] < r.block_influence[b] || (r.block_influence[a] == r.block_influence[b] && a > b);
    });
    out.assign(order.begin(), order.begin() + drop);
  } else if (method == "span") {
    const auto& row = r.angular[drop - 1];
    int64_t best = 0;
    for (int64_t l = 1; l < static_cast<int64_t>(row.size()); ++l)
      if (row[l] <= row[best]) best = l;
    for (int64_t l = best; l < best + drop; ++l) out.push_back(l);
  } else {
    throw Error("--method: expected influence (ShortGPT) or span (Gromov et al.), got '" + method + "'");
  }
  std::sort(out.begin(), out.end());
  return out;
}

Transformer drop_blocks(Transformer& model, const ModelConfig& cfg, const std::vector<int64_t>& drop) {
  ModelConfig pruned = cfg;
  pruned.n_layers = cfg.n_layers - static_cast<int64_t>(drop.size());
  Transformer out(pruned, nullptr);
  std::vector<int64_t> kept;
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    if (!std::binary_search(drop.begin(), drop.end(), l)) kept.push_back(l);
  torch::NoGradGuard ng;
  auto src = model->named_parameters(/*recurse=*/true);
  for (auto& item : out->named_parameters(/*recurse=*/true)) {
    std::string name = item.key();
    if (name.rfind("layers.", 0) == 0) {  // layers.<new>.rest -> layers.<kept[new]>.rest
      const auto dot = name.find('.', 7);
      const auto idx = std::stoll(name.substr(7, dot - 7));
      name = "layers." + std::to_string(kept[idx]) + name.substr(dot);
    }
    const auto* s = src.find(name);
    if (!s) throw Error("prune: the source model has no parameter " + name);
    item.value().copy_(s->to(torch::kCPU));
  }
  return out;
}

}  // namespace skipbench
