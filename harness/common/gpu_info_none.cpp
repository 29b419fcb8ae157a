// gpu_info_none.cpp: gpu_info() for builds without the CUDA toolkit (SKIPBENCH_WITH_CUDA=OFF).
#include "harness/common/provenance.h"

namespace skipbench {
std::vector<GpuInfo> gpu_info() { return {}; }
}  // namespace skipbench
