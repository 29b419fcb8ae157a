// config.cpp: defaults, strict merge of a file and of --set overrides onto them, and typed extraction.
#include "harness/config/config.h"

#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <set>

#include "harness/common/error.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"

namespace skipbench {
namespace json = boost::json;

namespace {

// Objects under these paths are plugin options: any keys, checked later by the plugin's registry.
const std::set<std::string> kFreeForm = {"variant.options", "train.controller.options"};

json::object inherit_group_json() {
  return {{"lr", nullptr}, {"betas", nullptr}, {"eps", nullptr}, {"weight_decay", nullptr}};
}

std::string join(const std::string& a, const std::string& b) { return a.empty() ? b : a + "." + b; }

std::string keys_of(const json::object& o) {
  std::string s;
  for (const auto& kv : o) s += (s.empty() ? "" : ", ") + std::string(kv.key());
  return s;
}

const char* kind_name(json::kind k) { return json_kind_name(k); }

[[noreturn]] void fail(const std::string& source, const std::string& path, const std::string& what) {
  throw Error((source.empty() ? std::string("config") : source) + ": " + path + ": " + what);
}

// Returns `v` converted to the kind of `base`, or throws naming source and path.
json::value typed_like(const json::value& base, const json::value& v, const std::string& source,
                       const std::string& path) {
  switch (base.kind()) {
    case json::kind::double_:
      if (v.is_number()) return v.to_number<double>();
      break;
    case json::kind::int64:
    case json::kind::uint64:
      if (v.is_int64()) return v;
      if (v.is_uint64()) {  // above int64's range: 12295222222222622260 once escaped as a raw Boost error (tests/fuzz)
        if (v.get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
          return static_cast<int64_t>(v.get_uint64());
        fail(source, path, "integer " + json::serialize(v) + " is out of range (at most 9223372036854775807)");
      }
      if (v.is_double() && std::floor(v.get_double()) == v.get_double() && std::abs(v.get_double()) < 9e15)
        return static_cast<int64_t>(v.get_double());
      break;
    case json::kind::bool_:
      if (v.is_bool()) return v;
      break;
    case json::kind::string:
      if (v.is_string()) return v;
      break;
    case json::kind::array:
      if (v.is_array() && v.get_array().size() == base.get_array().size()) {
        json::array out;
        for (size_t i = 0; i < v.get_array().size(); ++i)
          out.push_back(typed_like(base.get_array()[i], v.get_array()[i], source, path + "[" + std::to_string(i) + "]"));
        return out;
      }
      fail(source, path, std::string("expected an array of ") + std::to_string(base.get_array().size()) +
                             " values, got " + (v.is_array() ? std::to_string(v.get_array().size()) + " values" :
                                                                 kind_name(v.kind())));
    case json::kind::null:  // "inherit from the default group": null or a value checked at extraction
      return v;
    case json::kind::object:
      break;
  }
  fail(source, path, std::string("expected ") + kind_name(base.kind()) + ", got " + kind_name(v.kind()) + " (" +
                         json::serialize(v) + ")");
}

void merge_into(json::object& base, const json::object& overlay, const std::string& prefix,
                const std::string& source) {
  for (const auto& kv : overlay) {
    const std::string key(kv.key());
    const std::string path = join(prefix, key);
    auto it = base.find(key);
    if (it == base.end()) fail(source, path, "unknown key (expected one of: " + keys_of(base) + ")");
    if (it->value().is_object()) {
      if (!kv.value().is_object()) fail(source, path, std::string("expected an object, got ") + kind_name(kv.value().kind()));
      if (kFreeForm.count(path)) {
        it->value() = kv.value();
      } else {
        merge_into(it->value().get_object(), kv.value().get_object(), path, source);
      }
    } else {
      it->value() = typed_like(it->value(), kv.value(), source, path);
    }
  }
}

double num(const json::object& o, const char* k) { return o.at(k).to_number<double>(); }
int64_t integer(const json::object& o, const char* k) { return o.at(k).to_number<int64_t>(); }
std::string str(const json::object& o, const char* k) { return std::string(o.at(k).get_string()); }

OptimGroup read_group(const json::object& g, const OptimGroup* inherit, const std::string& source,
                      const std::string& path) {
  OptimGroup out = inherit ? *inherit : OptimGroup{};
  auto number_or_inherit = [&](const char* key, double& dst) {
    const auto& v = g.at(key);
    if (v.is_null()) return;
    if (!v.is_number()) fail(source, join(path, key), std::string("expected a number or null, got ") + kind_name(v.kind()));
    dst = v.to_number<double>();
  };
  number_or_inherit("lr", out.lr);
  number_or_inherit("eps", out.eps);
  number_or_inherit("weight_decay", out.weight_decay);
  const auto& b = g.at("betas");
  if (!b.is_null()) {
    if (!b.is_array() || b.get_array().size() != 2 || !b.get_array()[0].is_number() || !b.get_array()[1].is_number())
      fail(source, join(path, "betas"), "expected [beta1, beta2]");
    out.beta1 = b.get_array()[0].to_number<double>();
    out.beta2 = b.get_array()[1].to_number<double>();
  }
  if (!(out.lr > 0)) fail(source, join(path, "lr"), "must be > 0");
  if (!(out.beta1 >= 0 && out.beta1 < 1 && out.beta2 >= 0 && out.beta2 < 1))
    fail(source, join(path, "betas"), "each beta must be in [0, 1)");
  if (!(out.eps > 0)) fail(source, join(path, "eps"), "must be > 0");
  if (!(out.weight_decay >= 0)) fail(source, join(path, "weight_decay"), "must be >= 0");
  return out;
}

void positive(int64_t v, const std::string& source, const std::string& path) {
  if (v <= 0) fail(source, path, "must be > 0, got " + std::to_string(v));
}

}  // namespace

json::object default_config_json() {
  ModelConfig m;
  TrainConfig t;
  DataConfig d;
  json::object model{{"vocab_size", m.vocab_size}, {"dim", m.dim},           {"n_layers", m.n_layers},
                     {"n_heads", m.n_heads},       {"n_kv_heads", m.n_kv_heads}, {"ffn_hidden", m.ffn_hidden},
                     {"max_seq_len", m.max_seq_len}, {"norm_eps", m.norm_eps}, {"rope_theta", m.rope_theta},
                     {"init_std", m.init_std},     {"norm", m.norm},
                     {"input_norm", m.input_norm}, {"tie_embeddings", m.tie_embeddings},
                     {"attention_impl", m.attention_impl}};
  json::object train{{"seed", t.seed},
                     {"steps", t.steps},
                     {"batch_size", t.batch_size},
                     {"micro_batch_size", t.micro_batch_size},
                     {"val_every", t.val_every},
                     {"val_max_batches", t.val_max_batches},
                     {"warmup_frac", t.warmup_frac},
                     {"warmup_start_factor", t.warmup_start_factor},
                     {"optimizer", json::object{{"default", to_json(t.default_group)},
                                                {"norms", inherit_group_json()},
                                                {"masks", inherit_group_json()},
                                                {"impl", t.optimizer_impl}}},
                     {"precision", t.precision},
                     {"sdpa_backend", t.sdpa_backend},
                     {"skip_compute", t.skip_compute},
                     {"grad_bucket_mb", t.grad_bucket_mb},
                     {"init_from", t.init_from},
                     {"freeze", t.freeze},
                     {"controller", json::object{{"name", t.controller.name}, {"options", json::object{}}}},
                     {"device", t.device},
                     {"threads", t.threads},
                     {"log_every", t.log_every},
                     {"zero_eps", t.zero_eps},
                     {"checkpoint_every", t.checkpoint_every},
                     {"budget", json::object{{"kind", t.budget_kind}, {"value", nullptr}}}};
  return {{"model", model},
          {"variant", json::object{{"name", "skip_middle"}, {"options", json::object{}}}},
          {"train", train},
          {"data", json::object{{"train", d.train}, {"val", d.val}, {"val_labels", d.val_labels}}}};
}

void apply_override(json::object& root, const std::string& assignment, const std::string& source) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error("--set " + assignment + ": expected key=value with a dotted key, e.g. model.n_layers=6");
  const std::string text = assignment.substr(eq + 1);
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) v = json::string(text);  // bare words are strings: variant.name=dense
  apply_override_value(root, assignment.substr(0, eq), v, source);
}

void merge_config_file(json::object& root, const std::string& path) { merge_config_json(root, read_json_file(path), path); }

void merge_config_json(json::object& root, const json::value& file, const std::string& path) {
  if (!file.is_object()) throw Error(path + ": expected a JSON object with sections model, variant, train, data");
  merge_into(root, file.get_object(), "", path);
}

void apply_override_value(json::object& root, const std::string& path, const json::value& v,
                          const std::string& source) {
  const std::string assignment = path + "=" + json::serialize(v);
  // Build {"a": {"b": {"c": v}}} and merge it with the same checks as a file. Every dotted component must be
  // non-empty (".a", "a.", "a..b" are refused; a leading dot once looped forever: found by tests/fuzz).
  std::vector<std::string> keys;
  for (size_t start = 0;;) {
    const size_t dot = path.find('.', start);
    keys.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (keys.back().empty()) throw Error("--set " + assignment + ": empty key in '" + path + "'");
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  json::value nested = v;
  for (auto k = keys.rbegin(); k != keys.rend(); ++k) nested = json::object{{*k, std::move(nested)}};
  // Plugin options accept any key: merge them key by key rather than replacing the whole object.
  for (const auto& ff : kFreeForm) {
    if (path == ff) {  // a whole options object
      if (!v.is_object()) throw Error(source + ": " + path + ": expected an object of options");
      json::value* cur = &root.at("variant");
      if (ff == "train.controller.options") cur = &root.at("train").as_object().at("controller");
      cur->as_object()["options"] = v;
      return;
    }
    if (path.rfind(ff + ".", 0) == 0) {
      json::value* cur = &root.at("variant");
      if (ff == "train.controller.options") cur = &root.at("train").as_object().at("controller");
      auto& opts = cur->as_object().at("options").as_object();
      const std::string rest = path.substr(ff.size() + 1);
      if (rest.find('.') != std::string::npos) throw Error("--set " + assignment + ": plugin options are flat keys");
      opts[rest] = v;
      return;
    }
  }
  merge_into(root, nested.get_object(), "", source.empty() ? "--set" : source);
}

namespace {
// Every number in a config must be finite: 1e999 parses as infinity, trains into NaN, and a report would record it
// as null (so a re-run from the report would silently use the default).
void require_finite(const json::value& v, const std::string& source, const std::string& path) {
  if (v.is_double() && !std::isfinite(v.get_double()))
    fail(source, path, "must be a finite number, got " + std::to_string(v.get_double()));
  if (v.is_object())
    for (const auto& kv : v.get_object()) require_finite(kv.value(), source, join(path, std::string(kv.key())));
  if (v.is_array())
    for (size_t i = 0; i < v.get_array().size(); ++i)
      require_finite(v.get_array()[i], source, path + "[" + std::to_string(i) + "]");
}
}  // namespace

Config config_from_json(const json::object& merged, const std::string& source) {
  require_finite(merged, source, "");
  Config c;
  c.resolved = merged;
  c.source = source;
  const auto& m = merged.at("model").get_object();
  auto& mc = c.model;
  mc.vocab_size = integer(m, "vocab_size");
  mc.dim = integer(m, "dim");
  mc.n_layers = integer(m, "n_layers");
  mc.n_heads = integer(m, "n_heads");
  mc.n_kv_heads = integer(m, "n_kv_heads");
  mc.ffn_hidden = integer(m, "ffn_hidden");
  mc.max_seq_len = integer(m, "max_seq_len");
  mc.norm_eps = num(m, "norm_eps");
  mc.rope_theta = num(m, "rope_theta");
  mc.init_std = num(m, "init_std");
  mc.norm = str(m, "norm");
  // added after runs were recorded without them: an absent key is the behaviour those runs had
  for (auto [key, dst] : {std::pair{"input_norm", &mc.input_norm}, {"tie_embeddings", &mc.tie_embeddings}}) {
    if (!m.contains(key)) continue;
    if (!m.at(key).is_bool()) fail(source, std::string("model.") + key, "expected true or false");
    *dst = m.at(key).get_bool();
  }
  mc.attention_impl = str(m, "attention_impl");
  if (mc.attention_impl != "math" && mc.attention_impl != "sdpa" && mc.attention_impl != "sdpa_mask")
    fail(source, "model.attention_impl",
         "expected \"math\", \"sdpa\" or \"sdpa_mask\", got \"" + mc.attention_impl + "\"");
  for (auto [k, v] : {std::pair{"vocab_size", mc.vocab_size}, {"dim", mc.dim}, {"n_layers", mc.n_layers},
                      {"n_heads", mc.n_heads}, {"max_seq_len", mc.max_seq_len}})
    positive(v, source, std::string("model.") + k);
  if (mc.n_kv_heads < 0) fail(source, "model.n_kv_heads", "must be >= 0 (0 means n_heads)");
  if (mc.ffn_hidden < 0) fail(source, "model.ffn_hidden", "must be >= 0 (0 means 4*dim)");
  if (mc.dim % mc.n_heads != 0)
    fail(source, "model.dim", "must be a multiple of model.n_heads (" + std::to_string(mc.n_heads) + ")");
  if (mc.head_dim() % 2 != 0) fail(source, "model.dim", "dim / n_heads must be even for RoPE");
  if (mc.n_heads % mc.kv_heads() != 0) fail(source, "model.n_kv_heads", "must divide model.n_heads");
  if (mc.vocab_size > 65536) fail(source, "model.vocab_size", "must be <= 65536 (shards hold uint16 tokens)");
  if (!(mc.norm_eps > 0)) fail(source, "model.norm_eps", "must be > 0");
  if (!(mc.rope_theta > 0)) fail(source, "model.rope_theta", "must be > 0");
  if (!(mc.init_std > 0)) fail(source, "model.init_std", "must be > 0");
  if (mc.norm != "sandwich" && mc.norm != "pre")
    fail(source, "model.norm", "expected \"sandwich\" or \"pre\", got \"" + mc.norm + "\"");

  const auto& v = merged.at("variant").get_object();
  if (!v.at("name").is_string()) fail(source, "variant.name", "expected a string");
  c.variant.name = str(v, "name");
  c.variant.options = v.at("options").get_object();

  const auto& t = merged.at("train").get_object();
  auto& tc = c.train;
  if (t.at("seed").is_int64() && t.at("seed").get_int64() < 0)  // "not exact [boost.json:25 ...]" once (issue 14)
    fail(source, "train.seed", "must be >= 0, got " + std::to_string(t.at("seed").get_int64()));
  tc.seed = t.at("seed").to_number<uint64_t>();
  tc.steps = integer(t, "steps");
  tc.batch_size = integer(t, "batch_size");
  tc.micro_batch_size = integer(t, "micro_batch_size");
  tc.val_every = integer(t, "val_every");
  tc.val_max_batches = integer(t, "val_max_batches");
  tc.warmup_frac = num(t, "warmup_frac");
  tc.warmup_start_factor = num(t, "warmup_start_factor");
  tc.device = str(t, "device");
  tc.threads = integer(t, "threads");
  tc.log_every = integer(t, "log_every");
  tc.zero_eps = num(t, "zero_eps");
  tc.checkpoint_every = integer(t, "checkpoint_every");
  if (tc.checkpoint_every < 0) fail(source, "train.checkpoint_every", "must be >= 0 (0: no checkpoints)");
  const auto& bud = t.at("budget").get_object();
  if (!bud.at("kind").is_string()) fail(source, "train.budget.kind", "expected a string");
  tc.budget_kind = str(bud, "kind");
  if (tc.budget_kind != "steps" && tc.budget_kind != "tokens" && tc.budget_kind != "flops" && tc.budget_kind != "wall_clock")
    fail(source, "train.budget.kind", "expected \"steps\", \"tokens\", \"flops\" or \"wall_clock\", got \"" + tc.budget_kind + "\"");
  const auto& bv = bud.at("value");
  if (!bv.is_null() && !bv.is_number()) fail(source, "train.budget.value", "expected a number or null");
  tc.budget_value = bv.is_null() ? 0.0 : bv.to_number<double>();
  if (tc.budget_kind != "steps" && !(tc.budget_value > 0))
    fail(source, "train.budget.value", "must be > 0 for a " + tc.budget_kind + " budget");
  if (tc.budget_kind == "steps" && !bv.is_null()) {
    if (!(tc.budget_value >= 1 && tc.budget_value <= 1e15) || std::floor(tc.budget_value) != tc.budget_value)
      fail(source, "train.budget.value", "a steps budget must be a positive integer (at most 1e15)");
    tc.steps = static_cast<int64_t>(tc.budget_value);
  }
  for (auto [k, val] : {std::pair{"steps", tc.steps}, {"batch_size", tc.batch_size},
                        {"micro_batch_size", tc.micro_batch_size}, {"log_every", tc.log_every}})
    positive(val, source, std::string("train.") + k);
  if (tc.batch_size % tc.micro_batch_size != 0)
    fail(source, "train.batch_size", "must be a multiple of train.micro_batch_size (" +
                                         std::to_string(tc.micro_batch_size) + "), got " + std::to_string(tc.batch_size));
  if (tc.val_every < 0) fail(source, "train.val_every", "must be >= 0 (0: validate only at the end)");
  if (tc.val_max_batches < 0) fail(source, "train.val_max_batches", "must be >= 0 (0: whole split)");
  if (tc.threads < 0) fail(source, "train.threads", "must be >= 0 (0: default)");
  if (!(tc.warmup_frac >= 0 && tc.warmup_frac < 1)) fail(source, "train.warmup_frac", "must be in [0, 1)");
  if (!(tc.warmup_start_factor > 0 && tc.warmup_start_factor <= 1))
    fail(source, "train.warmup_start_factor", "must be in (0, 1]");
  if (!(tc.zero_eps > 0)) fail(source, "train.zero_eps", "must be > 0");
  if (tc.device != "cpu" && tc.device != "cuda" && tc.device != "auto")
    fail(source, "train.device", "expected \"cpu\", \"cuda\" or \"auto\", got \"" + tc.device + "\"");
  const auto& opt = t.at("optimizer").get_object();
  tc.default_group = read_group(opt.at("default").get_object(), nullptr, source, "train.optimizer.default");
  tc.norms_group = read_group(opt.at("norms").get_object(), &tc.default_group, source, "train.optimizer.norms");
  tc.masks_group = read_group(opt.at("masks").get_object(), &tc.default_group, source, "train.optimizer.masks");
  tc.optimizer_impl = str(opt, "impl");
  if (tc.optimizer_impl != "fused" && tc.optimizer_impl != "loop")
    fail(source, "train.optimizer.impl", "expected \"fused\" or \"loop\", got \"" + tc.optimizer_impl + "\"");
  tc.precision = str(t, "precision");
  if (tc.precision != "fp32" && tc.precision != "bf16")
    fail(source, "train.precision", "expected \"fp32\" or \"bf16\", got \"" + tc.precision + "\"");
  tc.skip_compute = t.at("skip_compute").as_bool();
  // added after runs were recorded without them: absent means what those runs did
  if (t.contains("grad_bucket_mb")) {
    if (!t.at("grad_bucket_mb").is_number()) fail(source, "train.grad_bucket_mb", "expected a number of MiB (0: one flat all-reduce)");
    tc.grad_bucket_mb = t.at("grad_bucket_mb").to_number<double>();
    if (!(tc.grad_bucket_mb >= 0 && tc.grad_bucket_mb <= 65536))
      fail(source, "train.grad_bucket_mb", "must be in [0, 65536] MiB (0: one flat all-reduce after the backward)");
  }
  if (t.contains("init_from")) {
    if (!t.at("init_from").is_string()) fail(source, "train.init_from", "expected a run directory (a string)");
    tc.init_from = t.at("init_from").get_string();
  }
  if (t.contains("freeze")) {
    if (!t.at("freeze").is_string()) fail(source, "train.freeze", "expected \"none\" or \"all_but_masks\"");
    tc.freeze = t.at("freeze").get_string();
  }
  if (tc.freeze != "none" && tc.freeze != "all_but_masks")
    fail(source, "train.freeze", "expected \"none\" or \"all_but_masks\", got \"" + tc.freeze + "\"");
  tc.sdpa_backend = str(t, "sdpa_backend");
  if (tc.sdpa_backend != "auto" && tc.sdpa_backend != "flash" && tc.sdpa_backend != "efficient" &&
      tc.sdpa_backend != "cudnn" && tc.sdpa_backend != "math")
    fail(source, "train.sdpa_backend",
         "expected \"auto\", \"flash\", \"efficient\", \"cudnn\" or \"math\", got \"" + tc.sdpa_backend + "\"");
  const auto& ctl = t.at("controller").get_object();
  if (!ctl.at("name").is_string()) fail(source, "train.controller.name", "expected a string");
  tc.controller.name = str(ctl, "name");
  tc.controller.options = ctl.at("options").get_object();

  const auto& d = merged.at("data").get_object();
  c.data.train = str(d, "train");
  c.data.val = str(d, "val");
  c.data.val_labels = str(d, "val_labels");
  if (c.data.train.empty()) fail(source, "data.train", "must name a glob of shard files");
  if (c.data.val.empty()) fail(source, "data.val", "must name a glob of shard files");
  return c;
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  json::object merged = default_config_json();
  if (!path.empty()) merge_config_file(merged, path);
  for (const auto& o : overrides) apply_override(merged, o, "--set " + o);
  std::string source = path.empty() ? "defaults" : path;
  if (!overrides.empty()) source += " with --set";
  return config_from_json(merged, source);
}

json::object to_json(const OptimGroup& g) {
  return {{"lr", g.lr}, {"betas", json::array{g.beta1, g.beta2}}, {"eps", g.eps}, {"weight_decay", g.weight_decay}};
}

}  // namespace skipbench
