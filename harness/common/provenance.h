// provenance.h: what a report needs to be reproducible: git commit (and whether the tree was dirty), library and
// compiler versions, and the hardware it ran on (CPU model, cores, memory, GPUs).
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace skipbench {

struct GpuInfo {
  std::string name;
  double memory_bytes = 0;
  int sm_major = 0, sm_minor = 0;
  int driver_version = 0, runtime_version = 0;
};
// Visible CUDA devices, from the CUDA runtime (empty without SKIPBENCH_WITH_CUDA, a driver, or a GPU).
std::vector<GpuInfo> gpu_info();

boost::json::object git_info();       // {"commit", "dirty"}; "unknown" outside a git checkout
boost::json::object version_info();   // skipbench, torch, boost, compiler, cuda toolkit if compiled with it
boost::json::object hardware_info();  // cpu (model, family/model, flags hash, ATen capability), cores, memory, torch threads, gpus
boost::json::object provenance();
double host_memory_bytes();           // MemTotal of /proc/meminfo (0 when unknown)     // all three plus the date (UTC) and the command line host

}  // namespace skipbench
