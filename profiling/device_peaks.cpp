// device_peaks.cpp: see device_peaks.h. Order matters: the first entry whose key occurs in the name wins, so the
// more specific names come first ("GH200" before "H200", "H100 PCIe" before "H100").
#include "profiling/device_peaks.h"

namespace skipbench {

namespace {
struct Entry {
  const char* key;
  const char* entry;
  double flops;
};
// NVIDIA datasheets, dense bf16 (the sparse figures are twice these).
constexpr Entry kPeaks[] = {
    {"GH200", "GH200", 989.4e12},
    {"H200", "H200", 989.4e12},
    {"H100 NVL", "H100 NVL", 835e12},
    {"H100 PCIe", "H100 PCIe", 756.5e12},
    {"H100", "H100 SXM", 989.4e12},  // "NVIDIA H100 80GB HBM3"
    {"H800", "H800 SXM", 989.4e12},
    {"B200", "B200", 2250e12},
    {"A100", "A100", 312e12},
    {"L40S", "L40S", 362.05e12},
};
}  // namespace

std::optional<DevicePeak> bf16_peak_for(const std::string& name) {
  for (const auto& e : kPeaks)
    if (name.find(e.key) != std::string::npos) return DevicePeak{e.flops, e.entry};
  return std::nullopt;
}

}  // namespace skipbench
