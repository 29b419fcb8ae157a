// host_memory.cpp: see host_memory.h.
#include "harness/common/host_memory.h"

#include <malloc.h>

#include <cstdlib>

#include "harness/common/error.h"

namespace skipbench {

namespace {
std::string g_mode = "system (glibc defaults)";
}

void configure_host_allocator() {
  const char* env = std::getenv("SKIPBENCH_HOST_ALLOC");
  const std::string want = env && *env ? env : "retain";
  if (want == "system") return;
  if (want != "retain") throw Error("SKIPBENCH_HOST_ALLOC: unknown value '" + want + "' (retain or system)");
  // M_MMAP_MAX 0: no allocation is served by mmap from the main heap (glibc still falls back to mmap when a
  // thread arena cannot grow); M_TRIM_THRESHOLD: never give the top of the heap back
  if (mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1) g_mode = "retain (glibc: no mmap, no trim)";
}

const std::string& host_allocator_mode() { return g_mode; }

}  // namespace skipbench
