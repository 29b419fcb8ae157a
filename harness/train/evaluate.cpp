// evaluate.cpp: see evaluate.h.
#include "harness/train/evaluate.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "harness/common/error.h"
#include "harness/train/autocast.h"
#include "harness/train/distributed.h"

namespace skipbench {
namespace json = boost::json;

namespace {

// Streaming sums of (x, y) pairs and their Pearson correlation (0 when x or y is constant): the one formula for
// the depth-loss correlation over every token and for the rank correlation of the sample.
struct Correlation {
  double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  void add(double x, double y) { n += 1, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y; }
  double pearson() const {
    const double cov = sxy / n - sx / n * sy / n, vx = sxx / n - sx * sx / n / n, vy = syy / n - sy * sy / n / n;
    return vx > 0 && vy > 0 ? cov / std::sqrt(vx * vy) : 0.0;
  }
};

// Running sums for per-token (depth, loss) pairs, plus a bounded deterministic sample for rank correlation.
struct TokenAnalysis {
  TokenAnalysis(int64_t L, size_t max_sample) : count(L + 1, 0), loss_sum(L + 1, 0), loss_sq(L + 1, 0),
                                                max_sample(max_sample) {}
  std::vector<double> count, loss_sum, loss_sq;
  Correlation all;  // every token
  std::vector<std::pair<float, float>> sample;  // (depth, loss), every `stride`-th token
  int64_t seen = 0;
  static constexpr size_t kMaxSample = 200000;  // over all ranks together
  size_t max_sample;
  std::map<int64_t, std::array<double, 5>> by_class;  // class -> tokens, depth sum, loss sum, depth^2, loss^2

  void add(const torch::Tensor& depth, const torch::Tensor& loss, const torch::Tensor& labels) {
    auto d = depth.to(torch::kCPU).to(torch::kInt64).contiguous();
    auto l = loss.to(torch::kCPU).to(torch::kFloat64).contiguous();
    const auto* dp = d.data_ptr<int64_t>();
    const auto* lp = l.data_ptr<double>();
    const int64_t* cp = nullptr;
    torch::Tensor c;
    if (labels.defined()) {
      c = labels.to(torch::kCPU).to(torch::kInt64).contiguous();
      cp = c.data_ptr<int64_t>();
    }
    for (int64_t i = 0; i < d.numel(); ++i) {
      const double x = static_cast<double>(dp[i]), y = lp[i];
      count[dp[i]] += 1;
      loss_sum[dp[i]] += y;
      loss_sq[dp[i]] += y * y;
      all.add(x, y);
      if (seen++ % 7 == 0 && sample.size() < max_sample) sample.emplace_back(static_cast<float>(x), static_cast<float>(y));
      if (cp) {
        auto& a = by_class[cp[i]];
        a[0] += 1, a[1] += x, a[2] += y, a[3] += x * x, a[4] += y * y;
      }
    }
  }

  // Data parallel: every sum becomes its sum over ranks, and the rank-correlation sample every rank's sample
  // (rank 0's first). Two all-reduces: each rank's class count and sample size in its own slot, then one buffer.
  void all_reduce(ProcessGroup& pg) {
    const int64_t rank = pg.env().rank, world = pg.env().world, L1 = static_cast<int64_t>(count.size());
    auto meta = torch::zeros({2 * world}, torch::kFloat64);
    meta[2 * rank] = by_class.empty() ? 0.0 : static_cast<double>(by_class.rbegin()->first + 1);
    meta[2 * rank + 1] = static_cast<double>(sample.size());
    pg.all_reduce_sum(meta, "the validation token analysis' sizes' all-reduce");
    int64_t nclass = 0, total = 0, offset = 0;
    const auto m = meta.accessor<double, 1>();
    for (int64_t r = 0; r < world; ++r) {
      nclass = std::max(nclass, static_cast<int64_t>(m[2 * r]));
      if (r < rank) offset += static_cast<int64_t>(m[2 * r + 1]);
      total += static_cast<int64_t>(m[2 * r + 1]);
    }
    auto buf = torch::zeros({3 * L1 + 6 + 5 * nclass + 2 * total}, torch::kFloat64);
    double* p = buf.data_ptr<double>();
    for (int64_t k = 0; k < L1; ++k) p[k] = count[k], p[L1 + k] = loss_sum[k], p[2 * L1 + k] = loss_sq[k];
    double* c = p + 3 * L1;
    c[0] = all.n, c[1] = all.sx, c[2] = all.sy, c[3] = all.sxx, c[4] = all.syy, c[5] = all.sxy;
    double* cls = c + 6;
    for (const auto& [k, a] : by_class)
      for (int j = 0; j < 5; ++j) cls[5 * k + j] = a[j];
    double* smp = cls + 5 * nclass + 2 * offset;
    for (size_t i = 0; i < sample.size(); ++i) smp[2 * i] = sample[i].first, smp[2 * i + 1] = sample[i].second;
    pg.all_reduce_sum(buf, "the validation token analysis' all-reduce");
    p = buf.data_ptr<double>();
    for (int64_t k = 0; k < L1; ++k) count[k] = p[k], loss_sum[k] = p[L1 + k], loss_sq[k] = p[2 * L1 + k];
    c = p + 3 * L1;
    all.n = c[0], all.sx = c[1], all.sy = c[2], all.sxx = c[3], all.syy = c[4], all.sxy = c[5];
    cls = c + 6;
    by_class.clear();
    for (int64_t k = 0; k < nclass; ++k)
      if (cls[5 * k] > 0) by_class[k] = {cls[5 * k], cls[5 * k + 1], cls[5 * k + 2], cls[5 * k + 3], cls[5 * k + 4]};
    smp = cls + 5 * nclass;
    sample.resize(total);
    for (int64_t i = 0; i < total; ++i)
      sample[i] = {static_cast<float>(smp[2 * i]), static_cast<float>(smp[2 * i + 1])};
  }

  static std::vector<double> ranks(const std::vector<double>& v) {  // average ranks for ties
    std::vector<size_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < idx.size();) {
      size_t j = i;
      while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
      for (size_t k = i; k <= j; ++k) r[idx[k]] = 0.5 * static_cast<double>(i + j);
      i = j + 1;
    }
    return r;
  }
  static double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    Correlation c;
    for (size_t i = 0; i < x.size(); ++i) c.add(x[i], y[i]);
    return c.pearson();
  }

  json::object to_json() const {
    const double n = all.n;
    json::array hist;
    for (size_t k = 0; k < count.size(); ++k) {
      if (count[k] == 0) continue;
      const double m = loss_sum[k] / count[k];
      hist.push_back(json::object{{"skip_depth", static_cast<int64_t>(k)},
                                  {"tokens", count[k]},
                                  {"fraction", count[k] / n},
                                  {"mean_loss", m},
                                  {"std_loss", std::sqrt(std::max(0.0, loss_sq[k] / count[k] - m * m))}});
    }
    std::vector<double> xs, ys;
    for (const auto& p : sample) xs.push_back(p.first), ys.push_back(p.second);
    json::object o{{"tokens", n},
                   {"mean_skip_depth", n > 0 ? all.sx / n : 0.0},
                   {"pearson_depth_loss", all.pearson()},
                   {"spearman_depth_loss", xs.size() > 1 ? pearson(ranks(xs), ranks(ys)) : 0.0},
                   {"spearman_sample_tokens", static_cast<int64_t>(xs.size())},
                   {"spearman_sample", "every 7th token (of each rank's share of the batches, data parallel)"},
                   {"histogram", hist},
                   {"note", "skip depth = blocks with |gate| < zero_eps; loss = this model's per-token cross-entropy; "
                            "correlations undefined (0) when depth or loss is constant"}};
    if (!by_class.empty()) {
      json::array classes;
      for (const auto& [c, a] : by_class) {
        const double md = a[1] / a[0], ml = a[2] / a[0];
        classes.push_back(json::object{{"class", c},
                                       {"tokens", a[0]},
                                       {"mean_skip_depth", md},
                                       {"std_skip_depth", std::sqrt(std::max(0.0, a[3] / a[0] - md * md))},
                                       {"mean_loss", ml}});
      }
      o["by_difficulty_class"] = classes;
    }
    return o;
  }
};

}  // namespace

json::object EvalResult::to_json() const {
  json::object o{{"loss", loss}, {"tokens", tokens}, {"forward_s", seconds}, {"ranks", ranks},
                 {"tokens_per_s", seconds > 0 ? tokens / seconds : 0.0}, {"computed_fraction", computed_fraction},
                 {"gates", stats.to_json()}};
  if (!token_analysis.empty()) o["which_tokens_skip"] = token_analysis;
  if (work.possible > 0) {
    // what real skipping executed in the gated and ungated blocks, against computing every block densely
    const double per = tokens > 0 ? 1.0 / tokens : 0.0;
    o["executed_flops"] = json::object{
        {"note", "standard-mode matmul FLOPs of the blocks, from the packed shapes (harness/model/hard_skip.cpp); "
                 "dense = the same blocks computed for every token"},
        {"per_token", json::object{{"projections", work.projections * per}, {"attention", work.attention * per},
                                   {"ffn", work.ffn * per}, {"blocks", work.executed() * per}}},
        {"dense_per_token", json::object{{"projections", work.dense_projections * per},
                                         {"attention", work.dense_attention * per}, {"ffn", work.dense_ffn * per},
                                         {"blocks", work.dense() * per}}},
        {"fraction_of_dense", work.dense() > 0 ? work.executed() / work.dense() : 1.0},
        {"pairs_computed", work.computed},
        {"pairs_possible", work.possible}};
  }
  return o;
}

EvalResult evaluate(Transformer& model, data::TokenLoader& data, const Config& cfg, const torch::Device& device,
                    const EvalOptions& opts) {
  torch::NoGradGuard ng;
  const bool was_training = model->is_training();
  model->eval();
  data.reset();
  if (opts.labels) {
    if (opts.labels->total_tokens() != data.total_tokens() || opts.labels->files().size() != data.files().size())
      throw Error("labels: " + std::to_string(opts.labels->total_tokens()) + " labels in " +
                  std::to_string(opts.labels->files().size()) + " file(s) for " + std::to_string(data.total_tokens()) +
                  " tokens in " + std::to_string(data.files().size()) +
                  " file(s); difficulty labels must align with the data token for token (data.val_labels / --labels)");
    opts.labels->reset();
  }
  EvalResult r(cfg.model.n_layers, cfg.train.zero_eps);
  const Precision precision = parse_precision(cfg.train.precision);
  // data parallel: deal the batches over the ranks when there are enough for every rank to get one (so every
  // rank holds the same kinds of sums), else every rank evaluates them all
  const int64_t world = opts.group ? opts.group->env().world : 1, rank = opts.group ? opts.group->env().rank : 0;
  const int64_t n_batches = opts.max_batches > 0 ? std::min(opts.max_batches, data.windows_per_epoch())
                                                 : data.windows_per_epoch();
  const bool split = world > 1 && n_batches >= world;
  r.ranks = split ? world : 1;
  TokenAnalysis ta(cfg.model.n_layers, TokenAnalysis::kMaxSample / static_cast<size_t>(r.ranks));
  double loss_sum = 0;
  int64_t batches = 0;  // of the split, on every rank
  const bool all_exits_before = model->all_exits;
  model->all_exits = opts.exits;
  std::vector<torch::Tensor> exit_sums;  // per exit depth, fp64 on the device
  for (; data.has_next_in_epoch() && (opts.max_batches == 0 || batches < opts.max_batches); ++batches) {
    if (split && batches % world != rank) {  // another rank's batch: step over it (and over its labels)
      data.skip();
      if (opts.token_analysis && opts.labels) opts.labels->skip();
      continue;
    }
    auto b = data::to_device(data.next(), device);
    const auto& targets = b.targets;
    const auto t0 = std::chrono::steady_clock::now();
    ForwardOutput out;
    {
      AutocastScope autocast(precision, device.type());  // the training precision
      out = opts.hard_skip ? model->forward_hard_skip(b.inputs) : model->forward(b.inputs);
    }
    auto ce = torch::nn::functional::cross_entropy(
        out.logits.reshape({-1, out.logits.size(-1)}).to(torch::kFloat32), targets.reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));  // [B*T]
    for (size_t i = 0; i < out.exit_logits.size(); ++i) {
      const auto& lg = out.exit_logits[i];
      auto e = torch::nn::functional::cross_entropy(lg.reshape({-1, lg.size(-1)}).to(torch::kFloat32),
                                                    targets.reshape({-1}),
                                                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                   .to(torch::kFloat64);
      if (exit_sums.size() <= i) exit_sums.push_back(e);
      else exit_sums[i] += e;
    }
    loss_sum += ce.sum().item<double>();  // synchronises the device
    r.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.tokens += static_cast<double>(targets.numel());
    if (opts.hard_skip) r.work.add(model->skip_work);
    r.stats.add(out);
    if (opts.token_analysis) {
      torch::Tensor depth = torch::zeros_like(ce);
      if (!out.gates.empty())
        depth = (torch::stack(out.gates).abs() < cfg.train.zero_eps).sum(0).reshape({-1}).to(ce.dtype());
      ta.add(depth, ce, opts.labels ? opts.labels->next().targets.reshape({-1}) : torch::Tensor());
    }
  }
  if (was_training) model->train();
  model->all_exits = all_exits_before;
  if (split) {  // sums over ranks: scalars, the slowest rank's time (each rank's in its own slot), exit losses
    const int64_t n_fixed = 10, n_exit = static_cast<int64_t>(exit_sums.size());
    auto buf = torch::zeros({n_fixed + world + n_exit}, torch::kFloat64);
    double* p = buf.data_ptr<double>();
    const SkipWork& w = r.work;
    const double fixed[n_fixed] = {loss_sum, r.tokens, w.projections, w.attention, w.ffn, w.dense_projections,
                                   w.dense_attention, w.dense_ffn, static_cast<double>(w.computed),
                                   static_cast<double>(w.possible)};
    std::copy(fixed, fixed + n_fixed, p);
    p[n_fixed + rank] = r.seconds;
    if (n_exit > 0) buf.slice(0, n_fixed + world).copy_(torch::stack(exit_sums).cpu());
    opts.group->all_reduce_sum(buf, "the validation's all-reduce");
    p = buf.data_ptr<double>();
    loss_sum = p[0], r.tokens = p[1];
    r.work.projections = p[2], r.work.attention = p[3], r.work.ffn = p[4];
    r.work.dense_projections = p[5], r.work.dense_attention = p[6], r.work.dense_ffn = p[7];
    r.work.computed = static_cast<int64_t>(p[8]), r.work.possible = static_cast<int64_t>(p[9]);
    r.seconds = *std::max_element(p + n_fixed, p + n_fixed + world);
    for (int64_t i = 0; i < n_exit; ++i) exit_sums[i] = buf[n_fixed + world + i];
    r.stats.all_reduce([&](torch::Tensor& t) { opts.group->all_reduce_sum(t, "the validation gate statistics' all-reduce"); });
    if (opts.token_analysis) ta.all_reduce(*opts.group);
  }
  r.loss = r.tokens > 0 ? loss_sum / r.tokens : 0.0;
  if (opts.exits && r.tokens > 0) {
    for (const auto& e : exit_sums) r.exit_loss.push_back(e.item<double>() / r.tokens);
    r.exit_loss.push_back(r.loss);
  }
  if (r.work.possible > 0) r.computed_fraction = static_cast<double>(r.work.computed) / r.work.possible;
  if (opts.token_analysis) r.token_analysis = ta.to_json();
  return r;
}

}  // namespace skipbench
