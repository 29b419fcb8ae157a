// layerdrop.h: the `layerdrop` variant's schedules (layerdrop.cpp), exposed for tests.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace skipbench {

// Per-block drop rates p_0..p_{L-1}: p_max x S(l), S exponential (LayerSkip: 2^(l/(L-1)) - 1), linear or uniform.
std::vector<double> layerdrop_rates(int64_t L, double p_max, const std::string& schedule);
// LayerSkip's normalised early-exit weights for `exits` (ascending block indices < L-1), then the final block's.
std::vector<double> layerskip_exit_weights(int64_t L, const std::vector<int64_t>& exits, double exit_scale);

}  // namespace skipbench
