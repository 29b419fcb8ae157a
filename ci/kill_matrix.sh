#!/usr/bin/env bash
# ci/kill_matrix.sh: issue 14's kill test matrix. A small suite (2 configurations x 2 seeds, checkpoints every 2
# steps) is run once uninterrupted as the reference; then, for each mode -- the suite parent only, a trainer only,
# both (the whole process group) -- REPS trials each kill -9 at random moments (up to 3 kills per trial, each
# followed by a restart of `suite run`), then let the suite finish (`--retry-failed`: a trainer killed by a signal
# is recorded as failed and resumes from its checkpoint). Every trial must show: every run completed;
# loss and validation curves bit-identical to the reference; metrics.jsonl holding each train step exactly once;
# no run trained twice (a finished run.json is never rewritten; train.log never shows two trainers at once, which
# the run-directory lock refuses). Prints one line per trial and a summary; exit 1 on any violation.
# Usage: bash ci/kill_matrix.sh [--reps N] [--bin build/skipbench]    (default 20 reps per mode: ~30 min on 2 cores)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
reps=20 bin=build/skipbench
while (($#)); do
  case "$1" in
    --reps) reps="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    *) echo "usage: ci/kill_matrix.sh [--reps N] [--bin PATH]" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "kill_matrix: $bin missing: bash ci/build.sh" >&2; exit 2; }
bash ci/default_data.sh "$bin" >/dev/null
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/suite.json" <<'JSON'
{"name": "kill-matrix", "description": "ci/kill_matrix.sh", "base": "configs/tiny.json",
 "set": {"model.dim": 32, "model.max_seq_len": 32, "model.n_layers": 2, "train.batch_size": 4,
         "train.micro_batch_size": 4, "train.val_every": 5, "train.val_max_batches": 2, "train.log_every": 5,
         "train.threads": 1},
 "budget": {"kind": "steps", "value": 24}, "seeds": [0, 1], "checkpoint_every": 2,
 "groups": [{"name": "dense", "variant": "dense"},
            {"name": "gated", "variant": "skip_middle",
             "controller": {"name": "proportional", "options": {"mean_target_start": 1.0, "mean_target_end": 0.5}}}]}
JSON
"$bin" suite run "$tmp/suite.json" --out "$tmp/ref" --jobs 2 --no-report >/dev/null 2>&1 || {
  echo "kill_matrix: the reference suite failed" >&2; exit 1; }

check() {  # trial dir -> "" or the first violation
  python3 - "$tmp/ref" "$1" <<'PY'
import json, os, sys
ref, d = sys.argv[1], sys.argv[2]
for name in sorted(os.listdir(os.path.join(ref, "runs"))):
    for seed in sorted(os.listdir(os.path.join(ref, "runs", name))):
        rel = os.path.join("runs", name, seed)
        a = json.load(open(os.path.join(ref, rel, "run.json")))
        p = os.path.join(d, rel, "run.json")
        if not os.path.isfile(p):
            sys.exit(f"{rel}: no run.json (run lost)")
        b = json.load(open(p))
        if b.get("status") != "completed":
            sys.exit(f"{rel}: status {b.get('status')}")
        if os.path.isfile(os.path.join(d, rel, "failed.json")):
            sys.exit(f"{rel}: run.json and failed.json both present")
        for k in ("train_curve", "val_curve"):
            if a[k] != b[k]:
                sys.exit(f"{rel}: {k} differs from the uninterrupted suite")
        steps = [json.loads(l)["step"] for l in open(os.path.join(d, rel, "metrics.jsonl"))
                 if l.strip() and json.loads(l).get("kind") == "train"]
        if steps != list(range(len(a["train_curve"]["loss"]))):
            sys.exit(f"{rel}: metrics.jsonl train steps {steps[:5]}... are not each step once")
PY
}

trainers() { pgrep -f "skipbench train .*$1" 2>/dev/null; }
total=0 bad=0
for mode in parent trainer both; do
  for i in $(seq 1 "$reps"); do
    out="$tmp/$mode-$i"
    declare -A finished=()
    kills=$((1 + RANDOM % 3))
    for k in $(seq 1 "$kills"); do
      setsid "$bin" suite run "$tmp/suite.json" --out "$out" --jobs 2 --no-report >/dev/null 2>&1 &
      pid=$!
      sleep "$(python3 -c "import random; print(round(random.uniform(0.3, 2.5), 2))")"
      # finished runs must never be rewritten: remember their run.json identity
      for f in "$out"/runs/*/*/run.json; do [[ -f "$f" ]] && finished[$f]=${finished[$f]:-$(stat -c '%i %Y %s' "$f")}; done
      case $mode in
        parent) kill -9 "$pid" 2>/dev/null ;;
        trainer) t=$(trainers "$out" | shuf -n 1); [[ -n "$t" ]] && kill -9 "$t" 2>/dev/null ;;
        both) kill -9 -- -"$pid" 2>/dev/null ;;
      esac
      wait "$pid" 2>/dev/null
    done
    # let it finish: the next invocation waits for (or replaces) any trainer left by a killed parent; a trainer
    # killed by a signal is recorded as failed (exit 137), and --retry-failed resumes it from its checkpoint
    "$bin" suite run "$tmp/suite.json" --out "$out" --jobs 2 --no-report --retry-failed >/dev/null 2>&1
    v=$(check "$out" 2>&1)
    for f in "${!finished[@]}"; do
      [[ "$(stat -c '%i %Y %s' "$f")" == "${finished[$f]}" ]] || v="${v:+$v; }$f rewritten after it finished"
    done
    unset finished
    total=$((total + 1))
    if [[ -n "$v" ]]; then bad=$((bad + 1)); echo "FAIL $mode #$i ($kills kills): $v"; else echo "ok   $mode #$i ($kills kills)"; fi
  done
done
echo "kill matrix: $total trials ($reps per mode: parent, trainer, both), $bad with a violation"
((bad == 0))
