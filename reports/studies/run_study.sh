#!/usr/bin/env bash
# reports/studies/run_study.sh: run (or resume) one committed CPU study and refresh its outputs under
# reports/studies/NAME/. The suite trains in runs/studies/NAME (resumable: kill it any time, the same command goes on
# where it stopped); then every completed run's evidence is copied into reports/studies/NAME/runs/ (run.json,
# metrics.jsonl as metrics.jsonl.gz, config.json, eval_*.json, train.log: everything `skipbench report` reads, not
# the weights) and the report is rendered there, so the committed numbers are re-derived from the committed run.json files by
#   build/skipbench report reports/studies/NAME
# With --eval-repeats N (cpu-fig2 uses 5): each finished run also gets `skipbench eval --hard-skip --repeat N` on
# --eval-batches B validation batches (default 8: 32K tokens a pass at the studies' shapes, ~1 s; 64 batches took
# ~90 s a run, 50 min for cpu-fig2) for claim 6 and the loss-vs-inference-time figure (real skipping, soft and hard
# passes interleaved). --no-train skips the suite (evaluate and refresh the outputs from the runs finished so far,
# e.g. to commit a study part-way). Usage:
#   bash reports/studies/run_study.sh NAME [--eval-repeats N] [--eval-batches B] [--jobs J] [--no-train]
# (after bash ci/build.sh)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
name="${1:?usage: run_study.sh NAME [--eval-repeats N] [--eval-batches B] [--jobs J] [--no-train]}"
shift
repeats=0
eval_batches=8
jobs=2
train=1
while (($#)); do
  case "$1" in
    --eval-repeats) repeats="$2"; shift 2 ;;
    --eval-batches) eval_batches="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --no-train) train=0; shift ;;
    *) echo "run_study: unknown option $1"; exit 2 ;;
  esac
done
spec="ablations/$name.json"
[[ -f "$spec" ]] || { echo "run_study: $spec: no such suite file"; exit 2; }
bin=build/skipbench
[[ -x "$bin" ]] || { echo "run_study: $bin is missing: run bash ci/build.sh first"; exit 2; }
work="runs/studies/$name"
out="reports/studies/$name"
export OMP_NUM_THREADS=1

if ((train)); then
  "$bin" suite run "$spec" --out "$work" --jobs "$jobs" --no-report || true  # failed runs are reported, not fatal
fi

if ((repeats > 0)); then
  # one eval at a time with both threads: timings are not shared with a concurrent job
  for d in "$work"/runs/*/seed*; do
    [[ -f "$d/run.json" ]] || continue
    grep -q '"status": *"completed"' "$d/run.json" || continue
    [[ -f "$d/eval_hard_skip.json" ]] && continue
    OMP_NUM_THREADS=2 "$bin" eval --run "$d" --hard-skip --repeat "$repeats" --max-batches "$eval_batches" >/dev/null ||
      echo "run_study: eval of $d failed (left out of the timing figure)"
  done
fi

mkdir -p "$out"
cp "$work/suite.json" "$out/suite.json"
for d in "$work"/runs/*/seed*; do
  rel="${d#"$work"/}"
  mkdir -p "$out/$rel"
  for f in run.json config.json eval_soft.json eval_hard_skip.json train.log failed.json; do
    [[ -f "$d/$f" ]] && cp "$d/$f" "$out/$rel/$f"
  done
  # metrics.jsonl compressed (-n: no name or time in the header, so the same file gives the same bytes): a long
  # run's is several MB of JSON lines (overfit-long: 4.4 MB, 0.9 MB compressed); the readers take either form
  if [[ -f "$d/metrics.jsonl" ]]; then
    gzip -n -9 -c "$d/metrics.jsonl" >"$out/$rel/metrics.jsonl.gz.tmp" && mv "$out/$rel/metrics.jsonl.gz.tmp" "$out/$rel/metrics.jsonl.gz"
    rm -f "$out/$rel/metrics.jsonl"
  fi
done
"$bin" report "$out"
