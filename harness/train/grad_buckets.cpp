// grad_buckets.cpp: see grad_buckets.h.
#include "harness/train/grad_buckets.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <unordered_set>

#include "harness/common/error.h"

namespace skipbench {

namespace {
struct Hook : torch::autograd::PostAccumulateGradHook {
  GradBuckets* owner;
  size_t index;
  Hook(GradBuckets* o, size_t i) : owner(o), index(i) {}
  void operator()(const torch::autograd::Variable&) override { owner->on_gradient(index); }
};
}  // namespace

GradBuckets::GradBuckets(const std::vector<torch::Tensor>& params, int64_t bucket_bytes, ProcessGroup& pg,
                         bool overlap)
    : pg_(pg), hooks_(overlap) {
  if (bucket_bytes <= 0) throw Error("gradient buckets: the bucket size must be > 0 bytes");
  std::unordered_set<const void*> seen;
  for (auto it = params.rbegin(); it != params.rend(); ++it)  // reverse: the backward finishes the last ones first
    if (it->requires_grad() && seen.insert(it->unsafeGetTensorImpl()).second) params_.push_back(*it);
  const int64_t cap = std::max<int64_t>(1, bucket_bytes / static_cast<int64_t>(sizeof(float)));
  for (size_t i = 0; i < params_.size(); ++i) {
    const int64_t n = params_[i].numel();
    if (buckets_.empty() || (numels_.back() > 0 && numels_.back() + n > cap)) {
      buckets_.emplace_back();
      numels_.push_back(0);
    }
    auto& b = buckets_.back();
    bucket_of_.push_back(buckets_.size() - 1);
    slot_of_.push_back(b.params.size());
    b.params.push_back(i);
    b.offsets.push_back(numels_.back());
    numels_.back() += n;
  }
  // each bucket's tail: one has-gradient flag per parameter (summed: on how many ranks it had one)
  for (size_t b = 0; b < buckets_.size(); ++b)
    buckets_[b].buffer = torch::empty({numels_[b] + static_cast<int64_t>(buckets_[b].params.size())},
                                      torch::TensorOptions().dtype(torch::kFloat32));
  arrived_.assign(params_.size(), false);
  if (hooks_)
    for (size_t i = 0; i < params_.size(); ++i)
      torch::autograd::impl::set_post_acc_grad_hooks(params_[i], std::make_unique<Hook>(this, i));
}

GradBuckets::~GradBuckets() {
  if (hooks_)
    for (auto& p : params_) torch::autograd::impl::set_post_acc_grad_hooks(p, nullptr);
  // PendingCollective's destructor waits: no bucket buffer is freed while Gloo still writes it
}

void GradBuckets::arm() {
  if (armed_) throw Error("gradient buckets: armed twice without finish()");
  armed_ = true;
  next_ = 0;
  started_in_backward_ = 0;
  arrived_.assign(params_.size(), false);
  for (auto& b : buckets_) b.waiting = b.params.size();
}

void GradBuckets::on_gradient(size_t i) {
  if (!armed_) return;  // an earlier micro-batch: its gradient is not final yet
  if (arrived_[i]) throw Error("gradient buckets: a parameter's gradient arrived twice in one armed backward");
  arrived_[i] = true;
  auto& b = buckets_[bucket_of_[i]];
  {
    torch::NoGradGuard ng;
    const auto& p = params_[i];
    const int64_t at = b.offsets[slot_of_[i]];
    b.buffer.slice(0, at, at + p.numel()).copy_(p.grad().reshape({-1}));
    b.buffer.data_ptr<float>()[numels_[bucket_of_[i]] + static_cast<int64_t>(slot_of_[i])] = 1.f;
  }
  --b.waiting;
  while (next_ < buckets_.size() && buckets_[next_].waiting == 0) {
    start(next_++);
    ++started_in_backward_;
  }
}

void GradBuckets::start(size_t bi) {
  auto& b = buckets_[bi];
  b.work = pg_.all_reduce_sum_async(b.buffer, "a gradient bucket's all-reduce");
}

void GradBuckets::finish() {
  if (!armed_) throw Error("gradient buckets: finish() without arm()");
  armed_ = false;
  torch::NoGradGuard ng;
  for (; next_ < buckets_.size(); ++next_) {  // what the backward left: missing gradients count as 0
    auto& b = buckets_[next_];
    float* flag = b.buffer.data_ptr<float>() + numels_[next_];
    for (size_t s = 0; s < b.params.size(); ++s)
      if (!arrived_[b.params[s]]) {
        const auto& p = params_[b.params[s]];
        auto slot = b.buffer.slice(0, b.offsets[s], b.offsets[s] + p.numel());
        flag[s] = p.grad().defined() ? 1.f : 0.f;
        if (p.grad().defined()) slot.copy_(p.grad().reshape({-1}));  // a gradient from an unarmed backward
        else slot.zero_();
      }
    start(next_);
  }
  const double world = pg_.env().world;
  for (size_t bi = 0; bi < buckets_.size(); ++bi) {
    auto& b = buckets_[bi];
    b.work.wait();
    const float* seen = b.buffer.data_ptr<float>() + numels_[bi];  // on how many ranks each had a gradient
    b.buffer.div_(world);
    for (size_t s = 0; s < b.params.size(); ++s) {
      if (seen[s] == 0) continue;  // no rank's (a block no token computed): it stays without one, as in one process
      auto& p = params_[b.params[s]];
      auto g = b.buffer.slice(0, b.offsets[s], b.offsets[s] + p.numel()).view(p.sizes());
      if (p.grad().defined()) p.mutable_grad().copy_(g);
      else p.mutable_grad() = g.to(p.scalar_type(), /*non_blocking=*/false, /*copy=*/true).to(p.device());
    }
  }
}

}  // namespace skipbench
