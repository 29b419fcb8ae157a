// device_memory.h: peak GPU memory of a run (LibTorch's caching allocator: bytes allocated by tensors, and bytes
// reserved from the driver), for reports and the throughput benchmark. On CPU there is no such number (nullopt);
// reports give peak host RSS instead (step_timer.h).
#pragma once
#include <c10/core/Device.h>

#include <optional>

namespace skipbench {

struct DeviceMemoryPeak {
  double allocated_bytes = 0;  // peak of memory held by tensors
  double reserved_bytes = 0;   // peak of memory the allocator held from the driver
};

std::optional<DeviceMemoryPeak> device_memory_peak(const c10::Device& device);
// The allocated peak alone (what reports quote); nullopt on CPU.
std::optional<double> peak_device_memory_bytes(const c10::Device& device);
void reset_peak_device_memory(const c10::Device& device);  // no-op on CPU

}  // namespace skipbench
