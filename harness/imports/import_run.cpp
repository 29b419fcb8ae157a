// import_run.cpp: see import_run.h.
#include "harness/imports/import_run.h"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <set>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/imports/safetensors.h"
#include "harness/metrics/run_report.h"
#include "harness/registry/variant_registry.h"
#include "harness/train/checkpoint.h"

namespace skipbench {
namespace json = boost::json;

namespace {

// Copies every tensor into the model's parameters by name (fp32); refuses missing, extra or mis-shaped tensors.
void load_named(Transformer& model, std::map<std::string, torch::Tensor> tensors, const std::string& source) {
  torch::NoGradGuard ng;
  for (auto& item : model->named_parameters(/*recurse=*/true)) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) throw Error(source + ": no tensor for " + item.key() + " (not this architecture?)");
    const auto& t = it->second;
    if (t.sizes() != item.value().sizes()) {
      std::ostringstream want, got;
      want << item.value().sizes();
      got << t.sizes();
      throw Error(source + ": " + item.key() + " has shape " + got.str() + ", the model needs " + want.str());
    }
    item.value().copy_(t.to(torch::kFloat32));
    tensors.erase(it);
  }
  if (!tensors.empty())
    throw Error(source + ": tensor " + tensors.begin()->first + " (and " + std::to_string(tensors.size() - 1) +
                " more) has no place in the model built from its config");
}

json::object config_with_model(const json::object& model_keys, const std::string& variant, const std::string& src) {
  json::object cfg = default_config_json();
  for (const auto& kv : model_keys)
    apply_override_value(cfg, "model." + std::string(kv.key()), kv.value(), src);
  cfg["variant"].as_object()["name"] = variant;
  return cfg;
}

std::string finish(Transformer& model, const Config& cfg, const json::object& record, const std::string& out) {
  save_model(model, fs::join(out, "model.pt"));
  json::object report{{"schema", kRunSchema},   {"schema_version", kRunSchemaVersion}, {"status", "completed"},
                      {"config", cfg.resolved}, {"imported", record},               {"provenance", provenance()}};
  return write_run_report(out, report);
}

void refuse_existing(const std::string& out) {
  if (out.empty()) throw Error("--out: must not be empty (the imported run's directory)");
  if (fs::exists(fs::join(out, "run.json"))) throw Error(fs::join(out, "run.json") + ": already exists; choose another --out");
}

}  // namespace

std::string import_gguf_export(const std::string& export_dir, const std::string& out) {
  refuse_existing(out);
  const std::string mj = fs::join(export_dir, "model.json");
  const json::value doc = read_json_file(mj);
  if (!doc.is_object() || !doc.as_object().contains("model") || !doc.as_object().at("model").is_object() ||
      !doc.as_object().contains("imported"))
    throw Error(mj + ": expected {\"model\": {...}, \"imported\": {...}} (written by gguf_export.py)");
  json::object cfgj = config_with_model(doc.at("model").as_object(), "dense", mj);
  fs::make_dirs(out);
  const std::string abs_out = fs::absolute(out);
  const bool has_data = fs::exists(fs::join(export_dir, "data/val_000000.bin"));
  for (const char* sub : {"tokenizer", "data"}) {
    const std::string from = fs::join(export_dir, sub), to = fs::join(out, sub);
    if (!fs::exists(from)) continue;
    fs::remove_tree(to);
    if (std::rename(from.c_str(), to.c_str()) != 0) throw Error(to + ": cannot move " + from + " here");
  }
  if (has_data) {
    auto& d = cfgj["data"].as_object();
    d["train"] = fs::join(abs_out, "data/train_*.bin");
    d["val"] = fs::join(abs_out, "data/val_*.bin");
  }
  // evaluation batches: 8 sequences (a 49,152-word vocabulary makes the logits the largest tensor)
  auto& t = cfgj["train"].as_object();
  t["batch_size"] = 8;
  t["micro_batch_size"] = 8;
  const Config cfg = config_from_json(cfgj, fs::join(out, "run.json"));
  Transformer model = build_model(cfg.model, cfg.variant);
  const std::string st = fs::join(export_dir, "weights.safetensors");
  load_named(model, read_safetensors(st).tensors, st);
  json::object record = doc.at("imported").as_object();
  record["importer"] = "skipbench import gguf (harness/imports/gguf_export.py + import_run.cpp)";
  return finish(model, cfg, record, out);
}

std::string import_skip_middle(const std::string& src, const std::string& out) {
  refuse_existing(out);
  const std::string cj = fs::join(src, "config.json");
  const json::value doc = read_json_file(cj);
  if (!doc.is_object()) throw Error(cj + ": expected the released ModelConfig as a JSON object");
  // the released training config nests it under "model"; the Hugging Face config.json is flat
  const json::object& c = doc.as_object().contains("model") && doc.at("model").is_object() ? doc.at("model").as_object()
                                                                                             : doc.as_object();
  auto integer = [&](const char* k, bool required) -> int64_t {
    if (!c.contains(k) || c.at(k).is_null()) {
      if (required) throw Error(cj + ": no " + std::string(k) + " (is this a skip-middle config.json?)");
      return 0;
    }
    if (!c.at(k).is_int64()) throw Error(cj + ": " + std::string(k) + ": expected an integer");
    return c.at(k).as_int64();
  };
  auto number = [&](const char* k, double dflt) {
    if (!c.contains(k) || c.at(k).is_null()) return dflt;
    if (!c.at(k).is_number()) throw Error(cj + ": " + std::string(k) + ": expected a number");
    return c.at(k).to_number<double>();
  };
  if (c.contains("use_scaled_rope") && c.at("use_scaled_rope").is_bool() && c.at("use_scaled_rope").as_bool())
    throw Error(cj + ": use_scaled_rope is true: Llama 3.1's RoPE scaling is not implemented in skipbench (the "
                "paper's trained models have it false)");
  // weights: model.safetensors, or the one *.safetensors in the directory
  std::string st = fs::join(src, "model.safetensors");
  if (!fs::exists(st)) {
    std::vector<std::string> found;
    for (const auto& f : fs::list_dir(src))
      if (f.size() > 12 && f.substr(f.size() - 12) == ".safetensors") found.push_back(fs::join(src, f));
    if (found.size() != 1)
      throw Error(src + ": expected model.safetensors or exactly one *.safetensors file, found " +
                  std::to_string(found.size()));
    st = found[0];
  }
  SafetensorsFile f = read_safetensors(st);
  std::map<std::string, torch::Tensor> ours;
  for (auto& [k0, t] : f.tensors) {
    std::string k = k0.rfind("model.", 0) == 0 ? k0.substr(6) : k0;
    if (k.rfind("masks.", 0) == 0) {  // masks.J.linear.{weight,bias} -> gates.masks.J.{weight,bias}
      const auto p = k.find(".linear.");
      if (p == std::string::npos) throw Error(st + ": tensor " + k0 + ": expected masks.J.linear.{weight,bias}");
      k = "gates." + k.substr(0, p) + "." + k.substr(p + 8);
    }
    ours[k] = t.to(torch::kFloat32);  // the bf16 embedding widens exactly
  }
  const auto w1 = ours.find("layers.0.feed_forward.w1.weight");
  if (w1 == ours.end()) throw Error(st + ": no layers.0.feed_forward.w1.weight (not a skip-middle checkpoint?)");
  json::object model{{"vocab_size", integer("vocab_size", true)}, {"dim", integer("dim", true)},
                     {"n_layers", integer("n_layers", true)},     {"n_heads", integer("n_heads", true)},
                     {"n_kv_heads", integer("n_kv_heads", false)}, {"ffn_hidden", w1->second.size(0)},
                     {"max_seq_len", c.contains("max_seq_len") ? integer("max_seq_len", true) : 1024},
                     {"norm_eps", number("norm_eps", 1e-5)},       {"rope_theta", number("rope_theta", 10000.0)},
                     {"norm", "sandwich"}};
  json::object cfgj = config_with_model(model, "skip_middle", cj);
  const bool zero_init = c.contains("zero_init_masks") && c.at("zero_init_masks").is_bool() && c.at("zero_init_masks").as_bool();
  cfgj["variant"].as_object()["options"] = json::object{{"attention_gate", "key"}};
  const Config cfg = config_from_json(cfgj, fs::join(out, "run.json"));
  Transformer model_ = build_model(cfg.model, cfg.variant);
  load_named(model_, std::move(ours), st);
  fs::make_dirs(out);
  json::object record{{"format", "skip-middle"},
                      {"source", fs::absolute(src)},
                      {"weights", fs::absolute(st)},
                      {"config", c},
                      {"zero_init_masks", zero_init},
                      {"note", zero_init ? "a released baseline: its masks were zero and never trained, so every gate "
                                           "is 1 (a dense sandwich-LN model)"
                                         : "a released gated model"},
                      {"importer", "skipbench import skip-middle (harness/imports/import_run.cpp)"}};
  return finish(model_, cfg, record, out);
}

}  // namespace skipbench
