// provenance.cpp: see provenance.h.
#include "harness/common/provenance.h"

#include "build_info.h"  // generated: cmake/build_info.cmake

#include <torch/torch.h>
#include <ATen/Version.h>
#include <torch/version.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/version.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <thread>

#include "harness/common/hash.h"

namespace skipbench {

namespace {
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string cpuinfo_field(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      auto c = line.find(':');
      if (c != std::string::npos) return line.substr(c + 2);
    }
  }
  return "unknown";
}

double mem_total_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string k;
  double kb = 0;
  std::string unit;
  while (in >> k >> kb >> unit)
    if (k == "MemTotal:") return kb * 1024.0;
  return 0;
}
}  // namespace

boost::json::object git_info() {
  // commit/dirty: the source tree (SKIPBENCH_SOURCE_DIR, baked in by CMake) when the record is written;
  // build_commit/build_dirty: the sources the binary was compiled from (build_info.h). They differ when the checkout
  // moved on after the build: then the run's code is the build commit's, not the tree's.
  const std::string dir = SKIPBENCH_SOURCE_DIR;
  std::string commit = run("git -C '" + dir + "' rev-parse HEAD 2>/dev/null");
  const bool built_dirty = SKIPBENCH_BUILD_DIRTY != 0;
  boost::json::object o{{"build_commit", SKIPBENCH_BUILD_COMMIT}, {"build_dirty", built_dirty}};
  if (commit.empty()) {
    o["commit"] = "unknown";
    o["dirty"] = false;
    return o;
  }
  const bool dirty = !run("git -C '" + dir + "' status --porcelain --untracked-files=no 2>/dev/null").empty();
  o["commit"] = commit;
  o["dirty"] = dirty;
  o["binary_matches_tree"] = commit == SKIPBENCH_BUILD_COMMIT && !dirty && !built_dirty;
  return o;
}

boost::json::object version_info() {
  boost::json::object o{{"skipbench", SKIPBENCH_VERSION},
                        {"torch", TORCH_VERSION},
                        {"boost", BOOST_LIB_VERSION},
                        {"compiler", std::string("g++ ") + __VERSION__},
                        {"cxx_standard", static_cast<int64_t>(__cplusplus)}};
#ifdef SKIPBENCH_WITH_CUDA
  o["built_with_cuda"] = true;
#else
  o["built_with_cuda"] = false;
#endif
  auto gpus = gpu_info();
  if (!gpus.empty()) {
    o["cuda_driver"] = gpus[0].driver_version;
    o["cuda_runtime"] = gpus[0].runtime_version;
  }
  return o;
}

boost::json::object hardware_info() {
  boost::json::array gpus;
  for (const auto& g : gpu_info())
    gpus.push_back(boost::json::object{{"name", g.name},
                                       {"memory_bytes", g.memory_bytes},
                                       {"compute_capability", std::to_string(g.sm_major) + "." + std::to_string(g.sm_minor)}});
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string flags = cpuinfo_field("flags");
  return {{"cpu", cpuinfo_field("model name")},
          // what decides which kernels run, hence the last bits of every result: the exact CPU model and its
          // instruction-set flags, and the vector ISA LibTorch's kernels dispatch to (ATEN_CPU_CAPABILITY)
          {"cpu_family_model", cpuinfo_field("cpu family") + "/" + cpuinfo_field("model")},
          {"cpu_flags_fnv1a64", hex64(fnv1a64(flags.data(), flags.size()))},
          {"cpu_capability", at::get_cpu_capability()},
          {"logical_cores", static_cast<int64_t>(std::thread::hardware_concurrency())},
          {"memory_bytes", mem_total_bytes()},
          {"torch_threads", static_cast<int64_t>(torch::get_num_threads())},
          {"hostname", host},
          {"gpus", gpus}};
}

double host_memory_bytes() { return mem_total_bytes(); }

boost::json::object provenance() {
  char date[64];
  std::time_t t = std::time(nullptr);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return {{"date", date}, {"git", git_info()}, {"versions", version_info()}, {"hardware", hardware_info()}};
}

}  // namespace skipbench
