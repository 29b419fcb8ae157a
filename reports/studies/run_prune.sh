#!/usr/bin/env bash
# reports/studies/run_prune.sh: the cpu-prune study. Static pruning (skipbench prune, no healing) of cpu-fig2's
# trained dense 6-block models, one per seed: K = 1, 2, 3 blocks dropped by Block Influence (ShortGPT), by the
# smallest angular-distance span (Gromov et al.), and the middle blocks by hand (the paper's premise: middle layers
# are the most redundant); every model evaluated on the whole validation split. Outputs under
# reports/studies/cpu-prune/: runs/seed<k>/<name>/{prune.json, eval_soft.json} and summary.{json,md} with loss
# increases over the unpruned model (mean and 95% t-interval over seeds) beside dense models of the same depth
# trained from scratch with the same tokens (cpu-fig2). Needs cpu-fig2's runs (runs/studies/cpu-fig2, with weights).
# Usage: bash reports/studies/run_prune.sh   (after bash ci/build.sh; about 2 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=build/skipbench
src=runs/studies/cpu-fig2/runs/dense-n_layers_6
out=reports/studies/cpu-prune
work=runs/studies/cpu-prune
[[ -x "$bin" ]] || { echo "run_prune: $bin is missing: run bash ci/build.sh first"; exit 2; }
ls "$src"/seed*/model.pt >/dev/null 2>&1 || { echo "run_prune: no trained runs in $src: run the cpu-fig2 study first"; exit 2; }
export OMP_NUM_THREADS=2
# name: skipbench prune arguments
cases=("influence-1:--drop 1 --method influence" "influence-2:--drop 2 --method influence"
       "influence-3:--drop 3 --method influence" "span-2:--drop 2 --method span" "span-3:--drop 3 --method span"
       "middle-2:--drop 2 --blocks 2,3" "middle-4:--drop 4 --blocks 1,2,3,4" "last-2:--drop 2 --blocks 4,5")
for s in "$src"/seed*; do
  seed=$(basename "$s")
  [[ -f "$s/run.json" ]] || continue
  mkdir -p "$out/runs/$seed"
  [[ -f "$out/runs/$seed/unpruned.json" ]] ||
    { "$bin" eval --run "$s" >/dev/null && cp "$s/eval_soft.json" "$out/runs/$seed/unpruned.json"; }
  for c in "${cases[@]}"; do
    name="${c%%:*}" args="${c#*:}"
    d="$work/$seed/$name"
    if [[ ! -f "$d/eval_soft.json" ]]; then
      rm -rf "$d"
      # shellcheck disable=SC2086
      "$bin" prune --run "$s" $args --max-batches 16 --out "$d" >/dev/null
      "$bin" eval --run "$d" >/dev/null
    fi
    mkdir -p "$out/runs/$seed/$name"
    cp "$d/prune.json" "$d/eval_soft.json" "$out/runs/$seed/$name/"
  done
done
.venv/bin/python reports/studies/prune_summary.py "$out" runs/studies/cpu-fig2/runs
