#!/usr/bin/env bash
# reports/studies/run_peers.sh: the peers study. Trains (or resumes) ablations/peers.json through run_study.sh (the
# report, its claims and the measured soft/hard inference timings of every run), then measures early exit: every
# layerdrop and dense run gets `skipbench eval --exits --repeat 5 --max-batches 16` (loss and forward time at every
# depth on the same 16 validation batches: the deeper dense runs show what exiting early costs a model not trained
# for it; each dense run at its full depth is the from-scratch reference), copied beside the run's evidence, and
# peers_summary.py writes reports/studies/peers/summary.{json,md}: each exit depth of each method against the dense
# model of that depth trained from scratch (paired by seed, 95% t-intervals).
# Usage: bash reports/studies/run_peers.sh [--no-train]   (after bash ci/build.sh; about 10 minutes a seed)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=build/skipbench
[[ -x "$bin" ]] || { echo "run_peers: $bin is missing: run bash ci/build.sh first"; exit 2; }
bash reports/studies/run_study.sh peers --eval-repeats 5 "$@"
work=runs/studies/peers
out=reports/studies/peers
for d in "$work"/runs/layerdrop*/seed* "$work"/runs/dense*/seed*; do
  [[ -f "$d/run.json" ]] || continue
  grep -q '"status": *"completed"' "$d/run.json" || continue
  [[ -f "$d/eval_exits.json" ]] ||
    OMP_NUM_THREADS=2 "$bin" eval --run "$d" --exits --repeat 5 --max-batches 16 >/dev/null ||
    { echo "run_peers: eval --exits of $d failed"; continue; }
  rel="${d#"$work"/}"
  mkdir -p "$out/$rel"
  cp "$d/eval_exits.json" "$out/$rel/"
done
.venv/bin/python reports/studies/peers_summary.py "$out"
