// regress.cpp: see regress.h.
#include "reports/regress.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"
#include "harness/config/config.h"
#include "harness/metrics/run_report.h"
#include "harness/model/flops.h"
#include "harness/registry/gate_controller.h"
#include "harness/registry/variant_registry.h"

namespace skipbench {
namespace json = boost::json;

namespace {

// The baseline's config with the keys added to skipbench since it was recorded filled in with their defaults (an
// absent key reads as its default: config_from_json and the plugin registries), so a new option is not a config
// difference unless the run sets it to something else. Keys the baseline has keep their recorded values.
json::value with_new_defaults(const json::value& recorded) {
  if (!recorded.is_object()) return recorded;
  try {
    json::object cfg = default_config_json();
    merge_config_json(cfg, recorded, "baseline config");
    // resolved options record a null default as null, which resolve_options reads as "not given": drop them first
    auto given = [](json::object o) {
      for (auto it = o.begin(); it != o.end();) it = it->value().is_null() ? o.erase(it) : std::next(it);
      return o;
    };
    auto& v = cfg["variant"].as_object();
    const auto& vs = VariantRegistry::instance().get(std::string(v["name"].as_string()));
    v["options"] = resolve_options(vs.name, vs.options, given(v["options"].as_object()), "variant.options");
    auto& ctl = cfg["train"].as_object()["controller"].as_object();
    const auto& cs = ControllerRegistry::instance().get(std::string(ctl["name"].as_string()));
    ctl["options"] = resolve_options(cs.name, cs.options, given(ctl["options"].as_object()),
                                     "train.controller.options");
    return cfg;
  } catch (const Error&) {  // a baseline skipbench cannot read any more: compare it as recorded
    return recorded;
  }
}
constexpr int64_t kBaselineVersion = 2;
const char* const kMetrics[] = {"train_loss", "val_loss", "sparsity"};  // what the tolerance mode has tolerances for

const json::value& at_or_null(const json::object& o, const char* k) {
  static const json::value null;
  const auto* v = o.if_contains(k);
  return v ? *v : null;
}

json::object flops_at(const json::object& config, const std::vector<double>& zero_fraction) {
  Config c = config_from_json(config, "run.json");
  const bool gated = VariantRegistry::instance().get(c.variant.name).gated;
  auto r = estimate_flops(c.model, gated, zero_fraction, FlopsMode::reference);
  auto s = estimate_flops(c.model, gated, zero_fraction, FlopsMode::standard);
  return {{"reference_forward_per_sequence", r.forward_per_sequence},
          {"standard_forward_per_sequence", s.forward_per_sequence},
          {"standard_training_per_token", s.training_per_token}};
}

// What decides the last bits of a CPU run (see provenance.cpp).
json::object fingerprint_of(const JsonField& provenance) {
  const auto& hw = provenance["hardware"].object();
  const auto& v = provenance["versions"].object();
  return {{"cpu", at_or_null(hw, "cpu")},
          {"cpu_family_model", at_or_null(hw, "cpu_family_model")},
          {"cpu_flags_fnv1a64", at_or_null(hw, "cpu_flags_fnv1a64")},
          {"cpu_capability", at_or_null(hw, "cpu_capability")},
          {"torch_threads", at_or_null(hw, "torch_threads")},
          {"torch", at_or_null(v, "torch")},
          {"compiler", at_or_null(v, "compiler")}};
}

// A run.json's numbers as the comparison reads them; a missing or mistyped member names run.json and its JSON path.
json::object summarize_run(const JsonField& rep) {
  const auto val = rep["gates"]["val"];
  const auto zf = val["zero_fraction"].doubles();
  const auto d = rep["data"];
  auto checksum = [&](const char* split) {
    const auto s = d.find(split);
    return s && s->value().is_object() && s->has("fnv1a64") ? (*s)["fnv1a64"].value() : json::value(nullptr);
  };
  return {{"status", rep["status"].str()},
          {"config", rep["config"].object()},
          {"data", json::object{{"train_fnv1a64", checksum("train")}, {"val_fnv1a64", checksum("val")}}},
          {"train_loss", json_array(rep["train_curve"]["loss"].doubles())},
          {"train_lr", json_array(rep["train_curve"]["lr"].doubles())},
          {"val_steps", json_array(rep["val_curve"]["step"].ints())},
          {"val_loss", json_array(rep["val_curve"]["loss"].doubles())},
          {"sparsity", val["sparsity"].number_or_nan()},
          {"val_tokens", val["tokens"].number()},
          // exact (hex), so that the FLOPs re-computation at this sparsity is exact too
          {"zero_fraction", exact_numbers(json_array(zf))},
          {"flops", exact_numbers(flops_at(rep["config"].object(), zf))}};
}

// A baseline's members checked once, before the comparison reads them, so that a damaged or hand-edited baseline
// is one line naming the file and the JSON path ("runs.dense/seed0.val_loss[3]: expected a number or null, ...").
void check_baseline(const json::value& doc, const std::string& file) {
  const JsonField base(doc, file);
  (void)base["fingerprint"].object();
  const auto tol = base["tolerance"];
  if (!tol.is_null()) {
    for (const char* m : kMetrics) (void)tol["values"][m].number();
    (void)tol["derived_from"]["factor"].number();
  }
  for (const auto& kv : base["runs"].object()) {
    const auto r = base["runs"][kv.key()];
    if (r["status"].str() != "completed") continue;  // an unfinished run: compared by its status only
    (void)r["config"].object();
    for (const char* k : {"train_fnv1a64", "val_fnv1a64"}) (void)r["data"][k];
    for (const char* k : {"train_loss", "train_lr", "val_loss"}) (void)r[k].doubles();
    (void)r["val_steps"].ints();
    (void)r["sparsity"].number_or_nan();
    (void)r["val_tokens"].number();
    const std::string at = "runs." + std::string(kv.key());
    const json::value zf = restore_numbers(r["zero_fraction"].value()), fl = restore_numbers(r["flops"].value());
    (void)JsonField(zf, file, at + ".zero_fraction").doubles();
    const JsonField f(fl, file, at + ".flops");
    for (const char* k : {"reference_forward_per_sequence", "standard_forward_per_sequence", "standard_training_per_token"})
      (void)f[k].number();
  }
}

// A run without run.json: failed (failed.json) or never finished; a regression when compared, refused in a baseline.
json::object unfinished_run(const std::string& run_dir) {
  const std::string failed = fs::join(run_dir, "failed.json");
  if (!fs::exists(failed)) return {{"status", "missing"}, {"reason", "no run.json in " + run_dir}};
  const auto f = read_json_file(failed);
  const auto* reason = f.is_object() ? f.as_object().if_contains("reason") : nullptr;
  return {{"status", "failed"}, {"reason", reason ? *reason : json::value("see " + failed)}};
}

// {suite, suite_file, fingerprint, runs}; complete: every run must have finished (else unfinished runs are listed)
json::object summarize_suite(const std::string& dir, bool complete) {
  const std::string spec_path = fs::join(dir, "suite.json");
  const json::value spec_doc = read_json_file(spec_path);
  const JsonField spec(spec_doc, spec_path);
  json::object runs, fingerprint;
  for (const auto& r : spec["runs"].elements()) {
    const std::string key = r["name"].str() + "/seed" + std::to_string(r["seed"].integer(0));
    const std::string run_dir = fs::join(dir, r["dir"].str()), path = fs::join(run_dir, "run.json");
    if (!fs::exists(path)) {
      if (complete) throw Error(path + ": missing; a baseline needs a complete suite (run `skipbench suite run` first)");
      runs[key] = unfinished_run(run_dir);
      continue;
    }
    const json::value rep_doc = read_run_report(path);
    const JsonField rep(rep_doc, path);
    if (fingerprint.empty()) fingerprint = fingerprint_of(rep["provenance"]);
    runs[key] = summarize_run(rep);
  }
  return {{"suite", spec["name"].str()}, {"suite_file", spec["file"].value()}, {"fingerprint", fingerprint}, {"runs", runs}};
}

// Largest |a - b| over two series; lengths must match (else infinity). NaN on both sides counts as equal.
double worst_diff(const std::vector<double>& a, const std::vector<double>& b, size_t* at = nullptr) {
  if (a.size() != b.size()) return INFINITY;
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = (std::isnan(a[i]) && std::isnan(b[i])) ? 0.0 : std::abs(a[i] - b[i]);
    if (!(d <= w)) {
      w = std::isnan(d) ? INFINITY : d;
      if (at) *at = i;
    }
  }
  return w;
}

std::vector<double> one(const json::value& v) { return {v.is_null() ? NAN : v.to_number<double>()}; }

// The per-metric differences between two summaries of the same run (for the spread a tolerance comes from).
std::map<std::string, double> metric_diffs(const json::object& a, const json::object& b) {
  return {{"train_loss", worst_diff(json_doubles(a.at("train_loss")), json_doubles(b.at("train_loss")))},
          {"val_loss", worst_diff(json_doubles(a.at("val_loss")), json_doubles(b.at("val_loss")))},
          {"sparsity", std::max(worst_diff(one(a.at("sparsity")), one(b.at("sparsity"))),
                                worst_diff(json_doubles(restore_numbers(a.at("zero_fraction"))),
                                           json_doubles(restore_numbers(b.at("zero_fraction")))))}};
}

std::string tol_text(double t) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3g", t);
  return b;
}
}  // namespace

RegressMode parse_regress_mode(const std::string& s) {
  if (s == "auto") return RegressMode::automatic;
  if (s == "exact") return RegressMode::exact;
  if (s == "tolerance") return RegressMode::tolerance;
  throw Error("--mode: expected auto, exact or tolerance, got '" + s + "'");
}

json::object make_baseline(const std::string& dir, const BaselineOptions& opts) {
  auto base = summarize_suite(dir, /*complete=*/true);
  json::value tolerance = nullptr;
  if (!opts.spread_dirs.empty()) {
    std::map<std::string, double> worst{{"train_loss", 0.0}, {"val_loss", 0.0}, {"sparsity", 0.0}};
    json::array sources;
    const auto& runs = base.at("runs").as_object();
    for (const auto& sd : opts.spread_dirs) {
      auto other = summarize_suite(sd, /*complete=*/true);
      int64_t compared = 0;
      for (const auto& kv : other.at("runs").as_object()) {
        const auto* b = runs.if_contains(kv.key());
        if (!b) continue;
        if (b->at("config") != kv.value().at("config"))
          throw Error(sd + ": run " + std::string(kv.key()) + " has another config than " + dir +
                      "'s; a spread is measured on the same suite");
        for (const auto& [m, d] : metric_diffs(b->as_object(), kv.value().as_object())) worst[m] = std::max(worst[m], d);
        ++compared;
      }
      if (compared == 0) throw Error(sd + ": no run in common with " + dir);
      sources.push_back(json::object{{"dir", sd}, {"runs_compared", compared}, {"fingerprint", other.at("fingerprint")}});
    }
    // a zero fraction moves in steps of one token: the sparsity's floor is one validation token at one layer
    double token_step = 0;
    for (const auto& kv : runs) token_step = std::max(token_step, 1.0 / kv.value().at("val_tokens").to_number<double>());
    json::object tol, measured, floors;
    for (const auto& [m, d] : worst) {
      if (!std::isfinite(d)) throw Error("spread: a curve of another length in a spread directory; runs must be complete");
      const double fl = m == "sparsity" ? std::max(opts.floor, token_step) : opts.floor;
      measured[m] = d;
      floors[m] = fl;
      tol[m] = std::max(opts.factor * d, fl);
    }
    tolerance = json::object{
        {"values", tol},
        {"derived_from",
         json::object{{"max_abs_diff", measured},
                      {"factor", opts.factor},
                      {"floor", floors},
                      {"rule", "tolerance = max(factor x largest |difference| seen between this suite and the same "
                               "suite on other kernels, floor); train_loss: any step, val_loss: any validation, "
                               "sparsity: the mean and any layer's zero fraction, whose floor is one validation "
                               "token (the smallest change a zero fraction can show)"},
                      {"spread_runs", sources}}}};
  }
  json::object doc{{"schema", "skipbench.baseline"}, {"schema_version", kBaselineVersion}};
  for (auto& kv : base) doc[kv.key()] = kv.value();
  doc["exact_tolerance"] = kExactTolerance;
  doc["tolerance"] = tolerance;
  return doc;
}

int regress(const std::string& baseline_path, const std::string& dir, std::ostream& out, RegressMode mode) {
  const json::value base_doc = read_json_file(baseline_path);
  if (!base_doc.is_object() || !base_doc.as_object().contains("schema") || base_doc.at("schema") != "skipbench.baseline")
    throw Error(baseline_path + ": not a skipbench baseline (schema \"skipbench.baseline\")");
  const auto& base = base_doc.as_object();
  if (base.at("schema_version") != json::value(kBaselineVersion))
    throw Error(baseline_path + ": baseline schema_version " + json::serialize(base.at("schema_version")) + ", this build reads " +
                std::to_string(kBaselineVersion) + "; regenerate it: skipbench regress --update --baseline " +
                baseline_path + " DIR");
  check_baseline(base_doc, baseline_path);
  auto cur = summarize_suite(dir, /*complete=*/false);
  const auto& bruns = base.at("runs").as_object();
  const auto& cruns = cur.at("runs").as_object();

  // ---- the data first: other data is not a regression, it is a different experiment ----
  for (const auto& kv : bruns) {
    const auto* c = cruns.if_contains(kv.key());
    if (!c || !c->as_object().contains("data")) continue;  // missing or unfinished: reported below
    const auto& bd = kv.value().at("data").as_object();
    const auto& cd = c->at("data").as_object();
    for (const char* k : {"train_fnv1a64", "val_fnv1a64"})
      if (bd.at(k) != cd.at(k))
        throw Error(dir + ": run " + std::string(kv.key()) + " read other data than " + baseline_path + " was made from (" +
                    std::string(k).substr(0, std::string(k).find('_')) + " tokens checksum " + json::serialize(cd.at(k)) +
                    ", baseline " + json::serialize(bd.at(k)) +
                    "); rebuild the data the baseline used (bash ci/default_data.sh with the same Debian packages) or "
                    "regenerate the baseline on this data (skipbench regress --update)");
  }

  // ---- the mode ----
  std::vector<std::string> why;
  const auto& bf = base.at("fingerprint").as_object();
  const auto& cf = cur.at("fingerprint").as_object();
  for (const auto& kv : bf)
    if (!cf.contains(kv.key()) || cf.at(kv.key()) != kv.value())
      why.push_back(std::string(kv.key()) + " " + json::serialize(cf.contains(kv.key()) ? cf.at(kv.key()) : json::value(nullptr)) +
                    " vs baseline " + json::serialize(kv.value()));
  if (mode == RegressMode::automatic) mode = why.empty() ? RegressMode::exact : RegressMode::tolerance;
  std::map<std::string, double> tol;
  if (mode == RegressMode::exact) {
    for (const char* m : kMetrics) tol[m] = kExactTolerance;
    out << "mode: exact (every number within " << tol_text(kExactTolerance) << "): "
        << (why.empty() ? "machine, torch and compiler match the baseline's" : "forced; the fingerprint differs: " + why[0])
        << "\n";
  } else {
    if (base.at("tolerance").is_null())
      throw Error(baseline_path + ": the fingerprint differs (" + (why.empty() ? "forced" : why[0]) +
                  ") and this baseline has no measured tolerances; regenerate it with --spread DIR (the suite run "
                  "with other kernels), or compare on the baseline's machine type");
    const auto& t = base.at("tolerance").as_object();
    for (const char* m : kMetrics) tol[m] = t.at("values").at(m).to_number<double>();
    out << "mode: tolerance (" << (why.empty() ? std::string("forced") : why[0] + (why.size() > 1 ? ", ..." : "")) << ")\n"
        << "tolerances: train loss " << tol_text(tol["train_loss"]) << ", val loss " << tol_text(tol["val_loss"])
        << ", sparsity " << tol_text(tol["sparsity"]) << " (the larger of " << t.at("derived_from").at("factor").to_number<double>()
        << "x the largest difference measured on other kernels and a floor; the baseline's tolerance.derived_from)\n";
  }

  int failures = 0;
  char line[320];
  std::snprintf(line, sizeof line, "%-34s %-30s %14s %14s %11s %9s  %s\n", "run", "check", "baseline", "current",
                "|diff|", "tol", "");
  out << line;
  auto row = [&](const std::string& run, const std::string& check, double b, double c, double d, double tolv,
                 bool exact = false) {
    const bool ok = exact ? b == c : d <= tolv;
    failures += !ok;
    std::snprintf(line, sizeof line, "%-34s %-30s %14.6g %14.6g %11.3g %9s  %s\n", run.c_str(), check.c_str(), b, c, d,
                  exact ? "exact" : tol_text(tolv).c_str(), ok ? "ok" : "REGRESSION");
    out << line;
  };
  auto note = [&](const std::string& run, const std::string& what) {
    out << run << ": " << what << "  REGRESSION\n";
    ++failures;
  };
  // a series: its worst element (or a length mismatch, which is a regression, never truncated)
  auto series = [&](const std::string& run, const std::string& check, const std::vector<double>& b,
                    const std::vector<double>& c, double tolv) {
    if (b.size() != c.size())
      return note(run, check + ": " + std::to_string(c.size()) + " values, baseline " + std::to_string(b.size()));
    if (b.empty()) return;
    size_t i = 0;
    const double d = worst_diff(b, c, &i);
    row(run, check + (b.size() > 1 ? " (worst)" : ""), b[i], c[i], d, tolv);
  };

  for (const auto& kv : bruns) {
    const std::string run(kv.key());
    const auto& b = kv.value().as_object();
    const auto* cp = cruns.if_contains(kv.key());
    if (!cp) {
      note(run, "missing from " + dir);
      continue;
    }
    const auto& c = cp->as_object();
    if (c.at("status") != b.at("status")) {
      note(run, "status " + json::serialize(c.at("status")) + ", baseline " + json::serialize(b.at("status")) +
                    (c.contains("reason") ? " (" + json::serialize(c.at("reason")) + ")" : ""));
      continue;
    }
    const auto cfg_diff = json_diff(with_new_defaults(b.at("config")), c.at("config"));
    if (!cfg_diff.empty()) {
      std::string msg = "config differs from the baseline's (a changed suite needs a new baseline):";
      for (const auto& d : cfg_diff) msg += " " + d + ";";
      note(run, msg);
    }
    series(run, "train loss", json_doubles(b.at("train_loss")), json_doubles(c.at("train_loss")), tol["train_loss"]);
    series(run, "lr", json_doubles(b.at("train_lr")), json_doubles(c.at("train_lr")), kExactTolerance * 1e-3);
    if (json_ints(b.at("val_steps")) != json_ints(c.at("val_steps")))
      note(run, "validation steps " + json::serialize(c.at("val_steps")) + ", baseline " + json::serialize(b.at("val_steps")));
    else
      series(run, "val loss", json_doubles(b.at("val_loss")), json_doubles(c.at("val_loss")), tol["val_loss"]);
    series(run, "sparsity", one(b.at("sparsity")), one(c.at("sparsity")), tol["sparsity"]);
    const auto bz = json_doubles(restore_numbers(b.at("zero_fraction")));
    series(run, "zero fraction by layer", bz, json_doubles(restore_numbers(c.at("zero_fraction"))), tol["sparsity"]);
    // the estimator, exactly, at the baseline's sparsity
    const auto bfl = restore_numbers(b.at("flops")).as_object();
    const auto n_layers = config_from_json(c.at("config").as_object(), "run.json").model.n_layers;
    if (static_cast<int64_t>(bz.size()) != n_layers) {
      note(run, "FLOPs: not comparable, the baseline has " + std::to_string(bz.size()) + " layers' zero fractions and the "
                "run " + std::to_string(n_layers) + " layers");
      continue;
    }
    const auto now = flops_at(c.at("config").as_object(), bz);
    for (const char* k : {"reference_forward_per_sequence", "standard_forward_per_sequence", "standard_training_per_token"}) {
      const double x = bfl.at(k).to_number<double>(), y = now.at(k).to_number<double>();
      row(run, std::string("FLOPs ") + (k[0] == 'r' ? "reference fwd" : (k[9] == 'f' ? "standard fwd" : "standard train")),
          x, y, std::abs(x - y), 0, true);
    }
  }
  for (const auto& kv : cruns)
    if (!bruns.contains(kv.key())) note(std::string(kv.key()), "not in the baseline (a changed suite needs a new baseline)");
  out << (failures ? std::to_string(failures) + " regression(s) against " + baseline_path
                   : "no regressions against " + baseline_path)
      << "\n";
  return failures;
}

}  // namespace skipbench
