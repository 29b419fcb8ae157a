// cupti_tracer.cpp: see cupti_tracer.h.
#include "profiling/cupti_tracer.h"

#include <mutex>

#include "profiling/ranges.h"

#ifdef SKIPBENCH_WITH_CUDA
#include <cupti.h>

#include <cstdlib>
#endif

namespace skipbench::prof {

namespace {
std::mutex g_mu;
std::vector<ActivityRecord> g_records;
std::vector<CorrelationRecord> g_corr;
uint64_t g_dropped = 0;

#ifdef SKIPBENCH_WITH_CUDA
constexpr size_t kBufferBytes = 8u << 20;
constexpr auto kCorrKind = CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM2;

void CUPTIAPI buffer_requested(uint8_t** buf, size_t* size, size_t* max_records) {
  *size = kBufferBytes;
  *buf = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t* buf, size_t, size_t valid) {
  CUpti_Activity* r = nullptr;
  std::lock_guard<std::mutex> lock(g_mu);  // runs on a CUPTI thread
  while (cuptiActivityGetNextRecord(buf, valid, &r) == CUPTI_SUCCESS) {
    switch (r->kind) {
      case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        auto* k = reinterpret_cast<CUpti_ActivityKernel10*>(r);
        g_records.push_back({ActivityRecord::Kind::kernel, k->correlationId, k->start, k->end, k->streamId,
                             k->name ? k->name : "?"});
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMCPY: {
        auto* m = reinterpret_cast<CUpti_ActivityMemcpy6*>(r);
        g_records.push_back({ActivityRecord::Kind::memcpy, m->correlationId, m->start, m->end, m->streamId,
                             "memcpy kind " + std::to_string(m->copyKind)});
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMSET: {
        auto* m = reinterpret_cast<CUpti_ActivityMemset4*>(r);
        g_records.push_back({ActivityRecord::Kind::memset, m->correlationId, m->start, m->end, m->streamId, "memset"});
        break;
      }
      case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION: {
        auto* e = reinterpret_cast<CUpti_ActivityExternalCorrelation*>(r);
        if (e->externalKind == kCorrKind) g_corr.push_back({e->correlationId, e->externalId});
        break;
      }
      default: break;
    }
  }
  size_t dropped = 0;
  if (cuptiActivityGetNumDroppedRecords(ctx, stream, &dropped) == CUPTI_SUCCESS) g_dropped += dropped;
  std::free(buf);
}

const CUpti_ActivityKind kKinds[] = {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY,
                                     CUPTI_ACTIVITY_KIND_MEMSET, CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION,
                                     CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_DRIVER};
#endif
}  // namespace

bool CuptiTracer::compiled_in() {
#ifdef SKIPBENCH_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool CuptiTracer::start(std::string* why) {
#ifdef SKIPBENCH_WITH_CUDA
  auto fail = [&](const char* what, CUptiResult rc) {
    const char* s = nullptr;
    cuptiGetResultString(rc, &s);
    if (why) *why = std::string(what) + ": " + (s ? s : "unknown CUPTI error");
    for (auto k : kKinds) cuptiActivityDisable(k);
    return false;
  };
  if (auto rc = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed); rc != CUPTI_SUCCESS)
    return fail("cuptiActivityRegisterCallbacks", rc);
  for (auto k : kKinds)
    if (auto rc = cuptiActivityEnable(k); rc != CUPTI_SUCCESS) return fail("cuptiActivityEnable", rc);
  return true;
#else
  if (why) *why = "built without SKIPBENCH_WITH_CUDA";
  return false;
#endif
}

void CuptiTracer::add_correlation(Instruments& inst) {
#ifdef SKIPBENCH_WITH_CUDA
  inst.correlation = true;
  inst.push = [](uint64_t id) { cuptiActivityPushExternalCorrelationId(kCorrKind, id); };
  inst.pop = [] {
    uint64_t last = 0;
    cuptiActivityPopExternalCorrelationId(kCorrKind, &last);
  };
#else
  (void)inst;
#endif
}

void CuptiTracer::stop() {
#ifdef SKIPBENCH_WITH_CUDA
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  for (auto k : kKinds) cuptiActivityDisable(k);
#endif
}

std::vector<ActivityRecord> CuptiTracer::records() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_records;
}
std::vector<CorrelationRecord> CuptiTracer::correlations() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_corr;
}
uint64_t CuptiTracer::dropped() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_dropped;
}
void CuptiTracer::clear() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_records.clear();
  g_corr.clear();
  g_dropped = 0;
}

}  // namespace skipbench::prof
