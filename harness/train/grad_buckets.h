// grad_buckets.h: the data-parallel gradient all-reduce in buckets that overlap the backward pass, as PyTorch's
// DDP does. Parameters are dealt, in reverse registration order (roughly the order in which the backward finishes
// them: head first, embedding last), into buckets of about `bucket_bytes` of fp32. On the armed backward (the
// last micro-batch of a step) each parameter's post-accumulate-grad hook copies its finished gradient into its
// bucket, and a bucket whose every gradient has arrived is all-reduced asynchronously (Gloo's threads) while the
// backward goes on. Buckets start strictly in bucket order, so every rank issues the same collectives in the same
// order even when a parameter gets no gradient on one rank (a hard skip, LayerDrop): a bucket waiting on such a
// parameter holds back the ones after it until finish(), which starts the rest with the missing gradients as 0,
// waits for every bucket, and writes the mean over ranks into each .grad. A parameter no rank has a gradient for
// (a block no token computed) keeps none, so the optimizer leaves it alone as one process's would: each bucket
// carries a has-gradient flag per parameter at its tail. With 2 ranks the result equals one flat
// all-reduce bitwise (each element is one fp32 sum of two values, and a + b == b + a); with more ranks, up to the
// order of Gloo's summation. The flat all-reduce (train.grad_bucket_mb 0) is the same code with one bucket as
// large as every gradient, armed only after the backward: arm(); finish() reads each .grad as it stands (built
// with overlap false: no hooks are installed, so the backward runs none).
#pragma once
#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "harness/train/distributed.h"

namespace skipbench {

class GradBuckets {
 public:
  // params: the trainable parameters (a tensor listed twice is bucketed once). bucket_bytes > 0 (int64 max: one
  // bucket). overlap: install the post-accumulate-grad hooks that start buckets during an armed backward; without
  // them every bucket starts in finish() (the flat all-reduce: arm() and finish() after the backward).
  GradBuckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes, ProcessGroup& pg, bool overlap = true);
  ~GradBuckets();  // removes the hooks; waits for anything still in flight
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  void arm();     // before the backward whose gradients are final (the step's last micro-batch)
  void finish();  // after it: the rest started in order, all waited for, the mean over ranks written into .grad

  int64_t size() const { return static_cast<int64_t>(buckets_.size()); }
  const std::vector<int64_t>& bucket_numels() const { return numels_; }
  // of the last finish(): how many buckets the hooks started during the backward (the overlapped ones)
  int64_t started_in_backward() const { return started_in_backward_; }

  void on_gradient(size_t param);  // the hook (public for it; not for callers)

 private:
  struct Bucket {
    std::vector<size_t> params;  // indices into params_
    std::vector<int64_t> offsets;
    torch::Tensor buffer;  // fp32, CPU, contiguous
    size_t waiting = 0;    // gradients still to arrive on the armed backward
    PendingCollective work;
  };
  void start(size_t b);
  std::vector<torch::Tensor> params_;
  std::vector<size_t> bucket_of_, slot_of_;
  std::vector<bool> arrived_;
  std::vector<Bucket> buckets_;
  std::vector<int64_t> numels_;
  ProcessGroup& pg_;
  bool hooks_ = false;
  bool armed_ = false;
  size_t next_ = 0;  // the next bucket to start
  int64_t started_in_backward_ = 0;
};

}  // namespace skipbench
