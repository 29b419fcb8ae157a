// device_memory.cpp: see device_memory.h. The CUDA part compiles only with SKIPBENCH_WITH_CUDA.
#include "profiling/device_memory.h"

#ifdef SKIPBENCH_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace skipbench {

std::optional<DeviceMemoryPeak> device_memory_peak(const c10::Device& device) {
#ifdef SKIPBENCH_WITH_CUDA
  if (device.is_cuda()) {
    using c10::CachingAllocator::StatType;
    const auto idx = device.has_index() ? device.index() : 0;
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(idx);
    const auto agg = static_cast<size_t>(StatType::AGGREGATE);
    return DeviceMemoryPeak{static_cast<double>(stats.allocated_bytes[agg].peak),
                            static_cast<double>(stats.reserved_bytes[agg].peak)};
  }
#endif
  (void)device;
  return std::nullopt;
}

std::optional<double> peak_device_memory_bytes(const c10::Device& device) {
  auto p = device_memory_peak(device);
  return p ? std::optional<double>(p->allocated_bytes) : std::nullopt;
}

void reset_peak_device_memory(const c10::Device& device) {
#ifdef SKIPBENCH_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#endif
  (void)device;
}

}  // namespace skipbench
