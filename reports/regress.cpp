// regress.cpp: see regress.h.
#include "reports/regress.h"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/config/config.h"
#include "harness/registry/variant_registry.h"
#include "profiling/flops.h"
#include "reports/run_report.h"

namespace skipbench {
namespace json = boost::json;

namespace {
std::vector<double> vec(const json::value& v) {
  std::vector<double> out;
  for (const auto& e : v.as_array()) out.push_back(e.is_null() ? NAN : e.to_number<double>());
  return out;
}
json::array arr(const std::vector<double>& v) {
  json::array a;
  for (double x : v) a.push_back(x);
  return a;
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
}  // namespace

json::object make_baseline(const std::string& dir, const RegressTolerances& tol) {
  auto spec = read_json_file(fs::join(dir, "suite.json")).as_object();
  json::object runs;
  for (const auto& rv : spec.at("runs").as_array()) {
    const auto& r = rv.as_object();
    const std::string key = std::string(r.at("name").as_string()) + "/seed" + std::to_string(r.at("seed").to_number<int64_t>());
    const std::string path = fs::join(fs::join(dir, std::string(r.at("dir").as_string())), "run.json");
    if (!fs::exists(path)) throw Error(path + ": missing; a baseline needs a complete suite (run `skipbench suite run` first)");
    auto rep = read_run_report(path);
    const auto zf = vec(rep.at("gates").at("val").at("zero_fraction"));
    runs[key] = json::object{{"status", rep.at("status")},
                             {"config", rep.at("config")},
                             {"train_loss", rep.at("train_curve").at("loss")},
                             {"val_loss", rep.at("final").at("val_loss")},
                             // exact (hex) so that the FLOPs re-computation at this sparsity is exact too
                             {"zero_fraction", exact_numbers(arr(zf))},
                             {"sparsity", rep.at("gates").at("val").at("sparsity")},
                             {"flops", exact_numbers(flops_at(rep.at("config").as_object(), zf))}};
  }
  return {{"schema", "skipbench.baseline"},
          {"schema_version", 1},
          {"suite", spec.at("name")},
          {"suite_file", spec.at("file")},
          {"tolerances", json::object{{"train_loss", tol.train_loss}, {"val_loss", tol.val_loss}, {"sparsity", tol.sparsity}}},
          {"runs", runs}};
}

int regress(const std::string& baseline_path, const std::string& dir, std::ostream& out) {
  auto base = read_json_file(baseline_path).as_object();
  if (!base.contains("schema") || base.at("schema") != "skipbench.baseline")
    throw Error(baseline_path + ": not a skipbench baseline (schema \"skipbench.baseline\")");
  const auto& tol = base.at("tolerances").as_object();
  const double t_train = tol.at("train_loss").to_number<double>(), t_val = tol.at("val_loss").to_number<double>(),
               t_sp = tol.at("sparsity").to_number<double>();
  base = restore_numbers(base).as_object();
  auto cur = restore_numbers(make_baseline(dir, {})).as_object();  // the same summary of the fresh suite
  int failures = 0;
  char line[256];
  std::snprintf(line, sizeof line, "%-34s %-22s %14s %14s %11s %9s  %s\n", "run", "check", "baseline", "current",
                "|diff|", "tol", "");
  out << line;
  auto row = [&](const std::string& run, const std::string& check, double b, double c, double tolv, bool exact = false) {
    const double d = std::abs(b - c);
    const bool ok = exact ? b == c : (std::isfinite(d) && d <= tolv);
    failures += !ok;
    std::snprintf(line, sizeof line, "%-34s %-22s %14.6g %14.6g %11.3g %9s  %s\n", run.c_str(), check.c_str(), b, c, d,
                  exact ? "exact" : std::to_string(tolv).substr(0, 6).c_str(), ok ? "ok" : "REGRESSION");
    out << line;
  };
  const auto& cruns = cur.at("runs").as_object();
  for (const auto& kv : base.at("runs").as_object()) {
    const std::string run(kv.key());
    const auto& b = kv.value().as_object();
    if (!cruns.contains(run)) {
      out << run << ": missing from " << dir << "  REGRESSION\n";
      ++failures;
      continue;
    }
    const auto& c = cruns.at(run).as_object();
    if (c.at("status") != b.at("status")) {
      out << run << ": status " << json::serialize(c.at("status")) << ", baseline " << json::serialize(b.at("status"))
          << "  REGRESSION\n";
      ++failures;
      continue;
    }
    const auto bl = vec(b.at("train_loss")), cl = vec(c.at("train_loss"));
    if (bl.size() != cl.size()) {
      out << run << ": " << cl.size() << " training steps, baseline " << bl.size() << "  REGRESSION\n";
      ++failures;
      continue;
    }
    double worst = 0, wb = 0, wc = 0;
    for (size_t i = 0; i < bl.size(); ++i)
      if (std::abs(bl[i] - cl[i]) >= worst) worst = std::abs(bl[i] - cl[i]), wb = bl[i], wc = cl[i];
    row(run, "train loss (worst step)", wb, wc, t_train);
    if (!b.at("val_loss").is_null()) row(run, "val loss", b.at("val_loss").to_number<double>(), c.at("val_loss").to_number<double>(), t_val);
    row(run, "sparsity", b.at("sparsity").to_number<double>(), c.at("sparsity").to_number<double>(), t_sp);
    const auto bz = vec(b.at("zero_fraction")), cz = vec(c.at("zero_fraction"));
    double zw = 0;
    for (size_t i = 0; i < bz.size() && i < cz.size(); ++i) zw = std::max(zw, std::abs(bz[i] - cz[i]));
    row(run, "zero frac. worst layer", 0.0, zw, t_sp);  // baseline column: 0, current: the worst |delta|
    // the estimator, exactly, at the baseline's sparsity
    const auto now = flops_at(c.at("config").as_object(), bz);
    for (const char* k : {"reference_forward_per_sequence", "standard_forward_per_sequence", "standard_training_per_token"})
      row(run, std::string("FLOPs ") + (k[0] == 'r' ? "reference fwd" : (k[9] == 'f' ? "standard fwd" : "standard train")),
          b.at("flops").at(k).to_number<double>(), now.at(k).to_number<double>(), 0, true);
  }
  out << (failures ? std::to_string(failures) + " regression(s) against " + baseline_path
                   : "no regressions against " + baseline_path)
      << "\n";
  return failures;
}

}  // namespace skipbench
