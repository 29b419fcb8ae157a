// prune.h: static layer pruning of a trained dense model, the structural peers of learned skipping (issue 15):
//   ShortGPT (Men et al. 2024): Block Influence BI_l = 1 - cos(h_l, h_{l+1}), averaged over every token, where h_l is
//     the residual entering block l (h_L leaves the last block); drop the K blocks of lowest influence.
//   Gromov et al. 2024: the angular distance d(l, n) = arccos(cos(h_l, h_{l+n})) / pi at each sequence's last
//     position, averaged over sequences; drop the contiguous span of K blocks l..l+K-1 with the smallest d(l, K).
// Both are measured on a fixed split (validation by default) with the soft forward; the pruned model is a dense
// model of L - K blocks holding the kept blocks' weights in order, evaluated like any run (`skipbench prune`).
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <vector>

#include "harness/data/loader.h"
#include "harness/model/transformer.h"

namespace skipbench {

struct Redundancy {
  std::vector<double> block_influence;       // [L]: 1 - mean cos(h_l, h_{l+1}) over every token
  std::vector<std::vector<double>> angular;  // angular[n - 1][l], n = 1..L, l = 0..L-n: d(l, n) at the last position
  double tokens = 0;
  int64_t sequences = 0;
  boost::json::object to_json() const;
};

// Residual streams of a dense model over up to max_batches batches of `data` (0: the whole split), no gradients.
Redundancy measure_redundancy(Transformer& model, data::TokenLoader& data, int64_t max_batches,
                              const torch::Device& device);

// The blocks to drop (ascending): method "influence" (the `drop` lowest BI; ties to the later block) or "span" (the
// contiguous span of `drop` blocks with the smallest angular distance; ties to the later start). drop in [0, L).
std::vector<int64_t> blocks_to_drop(const Redundancy& r, int64_t drop, const std::string& method);

// A dense model with the given blocks removed: same config with n_layers = L - drop.size(), every other weight
// copied (embedding, norms, head, and the kept blocks in order). The result is on the CPU.
Transformer drop_blocks(Transformer& model, const ModelConfig& cfg, const std::vector<int64_t>& drop);

}  // namespace skipbench
