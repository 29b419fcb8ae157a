// gpu_info.cu: enumerates CUDA devices through the runtime API, for report provenance. Compiled only with
// SKIPBENCH_WITH_CUDA; on a machine without a driver cudaGetDeviceCount fails and the list is empty.
#include <cuda_runtime.h>

#include "harness/common/provenance.h"

namespace skipbench {

std::vector<GpuInfo> gpu_info() {
  std::vector<GpuInfo> out;
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return out;
  }
  int driver = 0, runtime = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    out.push_back({p.name, static_cast<double>(p.totalGlobalMem), p.major, p.minor, driver, runtime});
  }
  return out;
}

}  // namespace skipbench
