// autocast.cpp: see autocast.h.
#include "harness/train/autocast.h"

#include <ATen/autocast_mode.h>

#include "harness/common/error.h"

namespace skipbench {

Precision parse_precision(const std::string& s) {
  if (s == "fp32") return Precision::fp32;
  if (s == "bf16") return Precision::bf16;
  throw Error("train.precision: expected \"fp32\" or \"bf16\", got \"" + s + "\"");
}

const char* to_string(Precision p) { return p == Precision::bf16 ? "bf16" : "fp32"; }

AutocastScope::AutocastScope(Precision precision, c10::DeviceType device) : device_(device) {
  if (precision != Precision::bf16) return;
  on_ = true;
  prev_enabled_ = at::autocast::is_autocast_enabled(device_);
  prev_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);  // CUDA's default is fp16
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_, prev_dtype_);
}

}  // namespace skipbench
