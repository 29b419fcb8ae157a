#!/usr/bin/env bash
# reports/studies/run_prune_heal.sh: the prune-heal study. Static pruning with and without a short healing fine-tune
# (skipbench prune --heal-steps) of the peers study's trained dense 4-block models, one per seed: 1 block dropped
# by Block Influence (ShortGPT), 2 by Block Influence, 2 by the smallest angular-distance span (Gromov et al.) and
# the middle two (blocks 1, 2) by hand; each pruned model as is, and healed for 100 optimizer steps (32 x 128 tokens
# each: 410K tokens, 28% of the source's 1.47M-token budget) at 0.1x and at 0.5x the source's learning rates (the
# source's schedule over the healing steps). Every model evaluated on the whole validation split. Outputs under
# reports/studies/peers-prune-heal/: runs/seed<k>/<case>/{prune.json, eval_soft.json, healed.json} and
# summary.{json,md} (prune_summary.py: increases over the unpruned model, mean and 95% t-interval over seeds, beside
# the peers study's dense models of the pruned depth (2 blocks; no 3-block run there) trained from scratch on the full budget).
# Needs the peers study's runs with weights (runs/studies/peers, bash reports/studies/run_peers.sh).
# Usage: bash reports/studies/run_prune_heal.sh   (after bash ci/build.sh; about 15 minutes on 2 cores)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=build/skipbench
src=runs/studies/peers/runs/dense-n_layers_4
out=reports/studies/peers-prune-heal
work=runs/studies/peers-prune-heal
[[ -x "$bin" ]] || { echo "run_prune_heal: $bin is missing: run bash ci/build.sh first"; exit 2; }
ls "$src"/seed*/model.pt >/dev/null 2>&1 || { echo "run_prune_heal: no trained runs in $src: run the peers study first"; exit 2; }
export OMP_NUM_THREADS=2
# name: skipbench prune arguments
cases=("influence-1:--drop 1 --method influence" "influence-2:--drop 2 --method influence"
       "span-2:--drop 2 --method span" "middle-2:--drop 2 --blocks 1,2")
heals=("none:" "heal100-lr0.1:--heal-steps 100 --heal-lr-scale 0.1" "heal100-lr0.5:--heal-steps 100 --heal-lr-scale 0.5")
# Phase 1: prune, heal and evaluate in the work directory only (a healing run records the work tree's state, which
# must stay clean: nothing is written under reports/ until every run has finished).
for s in "$src"/seed*; do
  seed=$(basename "$s")
  [[ -f "$s/run.json" ]] || continue
  [[ -f "$s/eval_soft.json" ]] || "$bin" eval --run "$s" >/dev/null
  for c in "${cases[@]}"; do
    for h in "${heals[@]}"; do
      cname="${c%%:*}" cargs="${c#*:}" hname="${h%%:*}" hargs="${h#*:}"
      name="$cname"; [[ "$hname" != none ]] && name="$cname-$hname"
      d="$work/$seed/$name"
      evaldir="$d"; [[ "$hname" != none ]] && evaldir="$d/healed"
      if [[ ! -f "$evaldir/eval_soft.json" ]]; then
        rm -rf "$d"
        # shellcheck disable=SC2086
        "$bin" prune --run "$s" $cargs $hargs --max-batches 16 --out "$d" >/dev/null
        "$bin" eval --run "$evaldir" >/dev/null
      fi
    done
  done
done
# Phase 2: the evidence under reports/.
for s in "$src"/seed*; do
  seed=$(basename "$s")
  [[ -f "$s/eval_soft.json" ]] || continue
  mkdir -p "$out/runs/$seed"
  cp "$s/eval_soft.json" "$out/runs/$seed/unpruned.json"
  for c in "${cases[@]}"; do
    for h in "${heals[@]}"; do
      cname="${c%%:*}" hname="${h%%:*}"
      name="$cname"; [[ "$hname" != none ]] && name="$cname-$hname"
      d="$work/$seed/$name"
      evaldir="$d"; [[ "$hname" != none ]] && evaldir="$d/healed"
      [[ -f "$evaldir/eval_soft.json" ]] || continue
      mkdir -p "$out/runs/$seed/$name"
      cp "$d/prune.json" "$evaldir/eval_soft.json" "$out/runs/$seed/$name/"
      [[ "$hname" != none ]] && cp "$d/healed/run.json" "$out/runs/$seed/$name/healed_run.json"
    done
  done
done
.venv/bin/python reports/studies/prune_summary.py "$out" runs/studies/peers/runs --depth 4 --source "the peers study's dense 4-block models"
