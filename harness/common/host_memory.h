// host_memory.h: how the process's host (CPU) memory allocator treats freed blocks. LibTorch's CPU allocator is
// plain malloc, and a training step frees and re-allocates the same large tensors (logits, attention scores, FFN
// activations) every step. glibc serves blocks from 128 KiB up to 32 MiB (and everything above) by mmap and
// returns them to the OS on free, so every step page-faults all of that memory in again; in a VM (this project's
// machines) each fault is an exit to the host. Measured on the tiny shape (12 layers, 16 x 128 tokens, 2 cores):
// the output layer's forward product, which writes a fresh 32 MiB tensor, took 21.7 ms with glibc's defaults and
// 12.4 ms with freed memory kept (benchmarks/RESULTS.md has the whole step).
// "retain" (default): no mmap for allocations and no trimming, so freed memory stays in the heap for reuse; the
// resident size then stays at the run's peak. "system": glibc's defaults. Env SKIPBENCH_HOST_ALLOC chooses.
#pragma once
#include <string>

namespace skipbench {

// Applies SKIPBENCH_HOST_ALLOC (retain | system); call once, first thing in main(). Throws Error on another value.
void configure_host_allocator();
// What was applied, for run.json: "retain (glibc: no mmap, no trim)" or "system (glibc defaults)".
const std::string& host_allocator_mode();

}  // namespace skipbench
