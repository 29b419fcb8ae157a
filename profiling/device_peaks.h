// device_peaks.h: dense bf16 tensor-core peak FLOP/s of known GPUs (vendor datasheets, without sparsity), so a run
// on a GPU reports its model FLOPs utilisation: MFU = standard training FLOPs per token x tokens/s / peak.
// Matched against the CUDA device name; unknown devices (and CPUs) have no peak, and reports say so.
#pragma once
#include <optional>
#include <string>

namespace skipbench {

struct DevicePeak {
  double bf16_flops;  // FLOP/s, dense
  std::string entry;  // the table entry that matched ("H100 SXM", ...)
};

std::optional<DevicePeak> bf16_peak_for(const std::string& device_name);

}  // namespace skipbench
