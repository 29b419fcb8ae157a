// commands.cpp: see commands.h.
#include "harness/cli/commands.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>

#include "harness/common/error.h"
#include "harness/common/json_io.h"
#include "harness/config/config.h"
#include "harness/data/embedded_corpus.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/gate_controller.h"
#include "harness/train/trainer.h"
#include "profiling/flops.h"

namespace skipbench {
namespace json = boost::json;

namespace {

int cmd_train(const std::string& config, const std::vector<std::string>& sets, const std::string& out) {
  Config cfg = load_config(config, sets);
  auto r = train(cfg, out, {&std::cerr});
  std::cout << "run report: " << r.report_path << "\n";
  std::cout << "metrics:    " << out << "/metrics.jsonl\n";
  if (!r.val_loss.empty()) std::cout << "final val_loss: " << r.val_loss.back() << "\n";
  if (r.status != "completed") {
    std::cerr << "skipbench: error: run " << r.status << ": " << r.report.at("failure").as_string().c_str() << "\n";
    return 3;
  }
  return 0;
}

int cmd_variants() {
  json::array variants, controllers;
  for (const auto* v : VariantRegistry::instance().all())
    variants.push_back(json::object{{"name", v->name}, {"description", v->description}, {"gated", v->gated},
                                    {"options", describe_options(v->options)}});
  for (const auto* c : ControllerRegistry::instance().all())
    controllers.push_back(json::object{{"name", c->name}, {"description", c->description},
                                       {"options", describe_options(c->options)}});
  std::cout << pretty_json(json::object{{"variants", variants}, {"controllers", controllers}});
  return 0;
}

int cmd_flops(const std::string& config, const std::vector<std::string>& sets, const std::string& mode,
              const std::vector<double>& sparsity) {
  Config cfg = load_config(config, sets);
  const auto& spec = VariantRegistry::instance().get(cfg.variant.name);
  auto e = estimate_flops(cfg.model, spec.gated, sparsity, parse_flops_mode(mode));
  auto o = e.to_json();
  o["variant"] = spec.name;
  o["n_layers"] = cfg.model.n_layers;
  std::cout << pretty_json(o);
  return 0;
}

int cmd_data_embed(const std::string& source, const std::string& out) {
  auto s = data::build_embedded_corpus(source, out);
  std::cout << "embedded corpus: " << s.documents << " documents, " << s.train_tokens << " train / " << s.val_tokens
            << " validation tokens (byte-level, vocab " << data::kByteVocab << ")\n"
            << "  " << s.train_path << "\n  " << s.val_path << "\n  " << s.manifest_path << "\n";
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{"skipbench: train, measure and compare Transformers that learn to skip layers"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SKIPBENCH_VERSION);

  std::string config, out, mode = "reference", source = "/usr/share/games/fortunes", data_out = "data/default";
  std::vector<std::string> sets;
  std::vector<double> sparsity;

  auto* train_cmd = app.add_subcommand("train", "train one model; writes DIR/run.json and DIR/metrics.jsonl");
  train_cmd->add_option("--config", config, "config JSON (sections model, variant, train, data)")->required();
  train_cmd->add_option("--set", sets, "override a config value by dotted path, e.g. model.n_layers=6 (repeatable)");
  train_cmd->add_option("--out", out, "output directory")->required();

  auto* variants_cmd = app.add_subcommand("variants", "list registered variants and gate controllers with options");

  auto* flops_cmd = app.add_subcommand("flops", "print estimated FLOPs by component (JSON)");
  flops_cmd->add_option("--config", config, "config JSON")->required();
  flops_cmd->add_option("--set", sets, "override a config value (repeatable)");
  flops_cmd->add_option("--mode", mode, "reference (the released code's formula) or standard (2/MAC, matmuls)")
      ->capture_default_str();
  flops_cmd->add_option("--sparsity", sparsity, "fraction of skipped tokens: one value, or one per layer")->expected(1, -1);

  auto* data_cmd = app.add_subcommand("data", "data sets");
  data_cmd->require_subcommand(1);
  auto* embed_cmd = data_cmd->add_subcommand("embed", "build the embedded default data set (Debian fortunes, bytes)");
  embed_cmd->add_option("--source", source, "directory of fortune files")->capture_default_str();
  embed_cmd->add_option("--out", data_out, "output directory")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "skipbench: error: " << e.what() << " (see skipbench --help)\n";
    return 2;
  }
  try {
    if (*train_cmd) return cmd_train(config, sets, out);
    if (*variants_cmd) return cmd_variants();
    if (*flops_cmd) return cmd_flops(config, sets, mode, sparsity);
    if (*embed_cmd) return cmd_data_embed(source, data_out);
  } catch (const Error& e) {
    std::cerr << "skipbench: error: " << e.what() << "\n";
    return 2;
  } catch (const c10::Error& e) {
    std::cerr << "skipbench: error: " << e.what_without_backtrace() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "skipbench: error: " << e.what() << "\n";
    return 2;
  }
  return 2;
}

}  // namespace skipbench
