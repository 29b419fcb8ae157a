// layer_ablation.h: the redundancy map of a trained model (`skipbench layer-ablation`, issue 17): the validation
// loss with a contiguous span of blocks removed (the residual passes the span untouched), for every span length in
// `lengths` at every start, and three profiles at equal blocks removed: the paper's symmetric middle-out span (what
// skip_middle's mirrored gates remove: blocks m..L-1-m), the earliest span (blocks 0..k-1) and the latest
// (L-k..L-1). The premise under test (Lawson & Aitchison 2025, after ShortGPT and Gromov et al.): in a trained model
// the middle blocks are the most redundant, so removing them costs least.
// One forward per batch records the residual entering every block; a span (s, k) then runs only blocks s+k..L-1
// from the recorded residual at s, so the map costs about half of evaluating every span from scratch.
#pragma once
#include <boost/json/object.hpp>
#include <vector>

#include "harness/data/loader.h"
#include "harness/model/transformer.h"

namespace skipbench {

struct LayerAblationOptions {
  std::vector<int64_t> lengths{1, 2, 4, 8};  // span lengths of the full sweep (each < n_layers)
  int64_t max_batches = 4;                   // validation batches (0: the whole split)
};

// Mean token loss for every span asked, with Block Influence and angular distances (prune.h) over the same batches.
// Dense models only (a gate policy's gates are tied to every block). JSON: see layer_ablation.cpp.
boost::json::object layer_ablation(Transformer& model, data::TokenLoader& data, const LayerAblationOptions& o,
                                   const torch::Device& device);

}  // namespace skipbench
