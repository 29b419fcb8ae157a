#!/usr/bin/env bash
# ci/quickstart.sh: the main job on the embedded default data. Sets up and builds what is missing, builds the
# embedded byte-level corpus, then trains a dense and a gated (skip_middle) model on the tiny preset and prints
# where the reports are. Extra arguments are passed to both runs (e.g. --set train.steps=100).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash ci/build.sh
[[ -f data/default/train_000000.bin ]] || build/skipbench data embed --out data/default
out="${SKIPBENCH_OUT:-runs/quickstart}"
build/skipbench train --config configs/tiny.json --set variant.name=dense "$@" --out "$out/dense"
build/skipbench train --config configs/tiny.json --set variant.name=skip_middle "$@" --out "$out/skip_middle"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
print("\n%-12s %9s %10s %14s %12s" % ("run", "val_loss", "sparsity", "fwd GFLOP/tok", "tok/s"))
for name in ("dense", "skip_middle"):
    r = json.load(open(f"{out}/{name}/run.json"))
    f = r["flops"]["inference_at_val_sparsity"]["standard"]
    print("%-12s %9.4f %10.3f %14.5f %12.0f" % (name, r["final"]["val_loss"], r["gates"]["val"]["sparsity"],
          f["forward_per_token"] / 1e9, r["timing"]["tokens_per_s"]))
print(f"\nreports: {out}/dense/run.json  {out}/skip_middle/run.json  (per-step metrics: metrics.jsonl beside each)")
PY
