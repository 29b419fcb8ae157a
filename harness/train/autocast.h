// autocast.h: mixed precision for the forward pass, as the paper trained: bf16 autocast over fp32 master weights
// (linears and attention matmuls run in bf16; norms, softmax, the loss and the residual stream stay fp32).
//
// LibTorch has no RAII guard for autocast (libtorch-cupti.md §1), so this is one. Autocast keeps a process-wide
// cache of the bf16 copies of the weights while a region is open; the scope clears it when the outermost region
// closes, otherwise the next forward would silently use the copies made before the optimizer step (stale
// weights). Run backward after the scope has closed. The state is per thread.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace skipbench {

enum class Precision { fp32, bf16 };
Precision parse_precision(const std::string& s);  // "fp32" or "bf16"; throws Error otherwise
const char* to_string(Precision p);

class AutocastScope {
 public:
  // A no-op for Precision::fp32. Autocast applies to ops on `device`'s type (CPU autocast exists too).
  AutocastScope(Precision precision, c10::DeviceType device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_ = false;
  c10::DeviceType device_ = c10::DeviceType::CPU;
  bool prev_enabled_ = false;
  c10::ScalarType prev_dtype_ = c10::ScalarType::BFloat16;
};

}  // namespace skipbench
