// suite_parse.cpp: a suite document to its runs (suite_spec.h): structure, budget, seeds, base and overrides, grid
// expansion, run names and order. No LibTorch: what needs the registries or the machine comes in as SuiteChecks.
#include "harness/suite/suite_spec.h"
#include <algorithm>

#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <set>

#include "harness/common/error.h"
#include "harness/common/hash.h"
#include "harness/common/json_io.h"

namespace skipbench {
namespace json = boost::json;

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& path, const std::string& what) {
  throw Error(file + ": " + path + ": " + what);
}

void only_keys(const json::object& o, const std::set<std::string>& allowed, const std::string& file,
               const std::string& path) {
  for (const auto& kv : o) {
    if (!allowed.count(std::string(kv.key()))) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(file, path.empty() ? std::string(kv.key()) : path + "." + std::string(kv.key()),
           "unknown key (expected one of: " + list + ")");
    }
  }
}

std::string value_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_double()) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return std::string(buf, r.ptr);
  }
  return json::serialize(v);
}

std::string safe_name(std::string s) {
  for (auto& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  return s;
}

}  // namespace

json::object Suite::to_json() const {
  json::array rs, sd;
  for (auto s : seeds) sd.push_back(s);
  for (const auto& r : runs)
    rs.push_back(json::object{{"name", r.name},
                              {"group", r.group},
                              {"seed", r.seed},
                              {"params", r.params},
                              {"dir", r.dir},
                              // the whole resolved config: a changed base, set or option is a different suite
                              {"config_fnv1a64", hex64(fnv1a64(compact_json(r.config).data(), compact_json(r.config).size()))}});
  return {{"schema", "skipbench.suite"}, {"schema_version", 1}, {"name", name}, {"description", description},
          {"file", file}, {"budget", budget}, {"seeds", sd}, {"runs", rs}};
}

Suite parse_suite(const json::value& root, const std::string& file, const SuiteChecks& checks) {
  if (!root.is_object()) fail(file, "(top level)", "expected a JSON object with name, budget, seeds, groups");
  const auto& o = root.get_object();
  only_keys(o, {"name", "description", "base", "set", "budget", "seeds", "groups", "checkpoint_every", "order"}, file,
            "");
  // order: "config" (every seed of a configuration, then the next) or "seed" (every configuration of the first
  // seed, then the next seed: an interrupted long study then holds whole frontiers at fewer seeds)
  std::string order = "config";
  if (o.contains("order")) {
    if (!o.at("order").is_string() || (o.at("order").get_string() != "config" && o.at("order").get_string() != "seed"))
      fail(file, "order", "expected \"config\" (the default) or \"seed\"");
    order = std::string(o.at("order").get_string());
  }
  Suite s;
  s.file = file;
  if (!o.contains("name") || !o.at("name").is_string()) fail(file, "name", "expected a string naming the suite");
  s.name = std::string(o.at("name").get_string());
  if (o.contains("description")) s.description = value_text(o.at("description"));

  // budget
  if (!o.contains("budget") || !o.at("budget").is_object())
    fail(file, "budget", "expected {\"kind\": steps|tokens|flops|wall_clock, \"value\": > 0}");
  const auto& b = o.at("budget").get_object();
  only_keys(b, {"kind", "value"}, file, "budget");
  if (!b.contains("kind") || !b.at("kind").is_string()) fail(file, "budget.kind", "expected steps, tokens, flops or wall_clock");
  const std::string kind(b.at("kind").get_string());
  if (kind != "steps" && kind != "tokens" && kind != "flops" && kind != "wall_clock")
    fail(file, "budget.kind", "expected steps, tokens, flops or wall_clock, got \"" + kind + "\"");
  if (!b.contains("value") || !b.at("value").is_number() || !(b.at("value").to_number<double>() > 0))
    fail(file, "budget.value", "expected a number > 0");
  s.budget = b;

  // seeds
  if (!o.contains("seeds") || !o.at("seeds").is_array() || o.at("seeds").get_array().empty())
    fail(file, "seeds", "expected a non-empty list of integer seeds");
  for (const auto& x : o.at("seeds").get_array()) {
    if (!x.is_int64() || x.get_int64() < 0) fail(file, "seeds", "each seed must be a non-negative integer");
    s.seeds.push_back(static_cast<uint64_t>(x.get_int64()));
  }
  if (std::set<uint64_t>(s.seeds.begin(), s.seeds.end()).size() != s.seeds.size()) fail(file, "seeds", "duplicate seeds");
  int64_t checkpoint_every = 25;
  if (o.contains("checkpoint_every")) {
    if (!o.at("checkpoint_every").is_int64() || o.at("checkpoint_every").get_int64() < 0)
      fail(file, "checkpoint_every", "expected an integer >= 0");
    checkpoint_every = o.at("checkpoint_every").get_int64();
  }

  // the base every run starts from
  json::object base = default_config_json();
  if (o.contains("base")) {
    if (!o.at("base").is_string()) fail(file, "base", "expected the path of a config file");
    merge_config_file(base, std::string(o.at("base").get_string()));
  }
  auto apply_set = [&](json::object& cfg, const json::value& set, const std::string& where) {
    if (!set.is_object()) fail(file, where, "expected an object of dotted config keys");
    for (const auto& kv : set.get_object())
      apply_override_value(cfg, std::string(kv.key()), kv.value(), file + ": " + where);
  };
  if (o.contains("set")) apply_set(base, o.at("set"), "set");
  apply_override_value(base, "train.budget", json::object{{"kind", kind}, {"value", b.at("value")}}, file + ": budget");
  apply_override_value(base, "train.checkpoint_every", checkpoint_every, file + ": checkpoint_every");

  if (!o.contains("groups") || !o.at("groups").is_array() || o.at("groups").get_array().empty())
    fail(file, "groups", "expected a non-empty list of run groups");
  std::set<std::string> names;
  const auto& groups = o.at("groups").get_array();
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const std::string gp = "groups[" + std::to_string(gi) + "]";
    if (!groups[gi].is_object()) fail(file, gp, "expected an object");
    const auto& g = groups[gi].get_object();
    only_keys(g, {"name", "variant", "options", "controller", "set", "grid"}, file, gp);
    if (!g.contains("name") || !g.at("name").is_string() || g.at("name").get_string().empty())
      fail(file, gp + ".name", "expected a non-empty string");
    const std::string gname(g.at("name").get_string());
    if (gname.front() == '.')  // ".." once wrote its runs outside the suite's folder; ".x" would hide them
      fail(file, gp + ".name", "'" + gname + "' names a folder under runs/: start it with a letter, digit, '-' or '_'");
    json::object cfg = base;
    bool same_variant = true;  // the group keeps (or names) the base config's own variant
    if (g.contains("variant")) {
      if (!g.at("variant").is_string()) fail(file, gp + ".variant", "expected a variant name");
      const std::string v(g.at("variant").get_string());
      try {
        if (checks.variant) checks.variant(v);
      } catch (const Error& e) {
        fail(file, gp + ".variant", e.what());
      }
      // another variant starts from no options (the base's would not fit it); the base's own variant keeps them
      // (a group naming it used to drop a base config's options silently)
      same_variant = cfg.contains("variant") && cfg.at("variant").is_object() &&
                        cfg.at("variant").as_object().contains("name") &&
                        cfg.at("variant").as_object().at("name") == json::value(json::string(v));
      apply_override_value(cfg, "variant.name", json::string(v), file + ": " + gp);
      if (!same_variant) apply_override_value(cfg, "variant.options", json::object{}, file + ": " + gp);
    }
    if (g.contains("options")) {
      if (same_variant && g.at("options").is_object())  // merged over the base's options, key by key
        for (const auto& [k, v] : g.at("options").get_object())
          apply_override_value(cfg, "variant.options." + std::string(k), v, file + ": " + gp + ".options");
      else
        apply_override_value(cfg, "variant.options", g.at("options"), file + ": " + gp + ".options");
    }
    if (g.contains("controller")) {
      if (!g.at("controller").is_object()) fail(file, gp + ".controller", "expected {\"name\": ..., \"options\": {...}}");
      const auto& c = g.at("controller").get_object();
      only_keys(c, {"name", "options"}, file, gp + ".controller");
      if (c.contains("name")) apply_override_value(cfg, "train.controller.name", c.at("name"), file + ": " + gp + ".controller");
      apply_override_value(cfg, "train.controller.options", c.contains("options") ? c.at("options") : json::object{},
                           file + ": " + gp + ".controller");
    }
    if (g.contains("set")) apply_set(cfg, g.at("set"), gp + ".set");
    // grid: cartesian product in key order
    std::vector<std::pair<std::string, json::array>> axes;
    if (g.contains("grid")) {
      if (!g.at("grid").is_object()) fail(file, gp + ".grid", "expected {\"dotted.key\": [values, ...]}");
      for (const auto& kv : g.at("grid").get_object()) {
        if (!kv.value().is_array() || kv.value().get_array().empty())
          fail(file, gp + ".grid." + std::string(kv.key()), "expected a non-empty list of values (an empty grid runs nothing)");
        axes.emplace_back(std::string(kv.key()), kv.value().get_array());
      }
    }
    std::vector<size_t> idx(axes.size(), 0);
    while (true) {
      json::object point = cfg, params;
      std::string rname = gname;
      for (size_t a = 0; a < axes.size(); ++a) {
        const auto& [key, values] = axes[a];
        apply_override_value(point, key, values[idx[a]], file + ": " + gp + ".grid." + key);
        params[key] = values[idx[a]];
        const auto dot = key.rfind('.');
        rname += "-" + key.substr(dot == std::string::npos ? 0 : dot + 1) + "_" + value_text(values[idx[a]]);
      }
      rname = safe_name(rname);
      if (!names.insert(rname).second)
        fail(file, gp, "duplicate run name '" + rname + "' (group names and grid values must make runs distinct)");
      for (auto seed : s.seeds) {
        json::object seeded = point;
        apply_override_value(seeded, "train.seed", static_cast<int64_t>(seed), file);
        // everything a run needs must resolve now, not hours into the suite
        Config c;
        try {
          c = config_from_json(seeded, file + ": run " + rname);
          // a tokens budget below one optimizer step would fail every run once it starts
          const double step_tokens = static_cast<double>(c.train.batch_size * c.model.max_seq_len);
          if (c.train.budget_kind == "tokens" && c.train.budget_value < step_tokens)
            throw Error("budget.value: " + std::to_string(static_cast<int64_t>(c.train.budget_value)) +
                        " tokens is less than one step (" + std::to_string(static_cast<int64_t>(step_tokens)) +
                        " tokens: batch_size x max_seq_len)");
          if (checks.run) checks.run(c);
        } catch (const Error& e) {
          fail(file, gp + " (run " + rname + ")", e.what());
        }
        s.runs.push_back({rname, gname, seed, params, "runs/" + rname + "/seed" + std::to_string(seed), seeded});
      }
      // next grid point
      size_t a = 0;
      while (a < axes.size() && ++idx[a] == axes[a].second.size()) idx[a++] = 0;
      if (a == axes.size()) break;
    }
  }
  if (order == "seed") {
    auto rank = [&](uint64_t seed) { return std::find(s.seeds.begin(), s.seeds.end(), seed) - s.seeds.begin(); };
    std::stable_sort(s.runs.begin(), s.runs.end(),
                     [&](const SuiteRun& a, const SuiteRun& b) { return rank(a.seed) < rank(b.seed); });
  }
  return s;
}

}  // namespace skipbench
