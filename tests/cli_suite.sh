#!/usr/bin/env bash
# cli_suite.sh: suites end to end: malformed suite files fail before any training (one line, exit 2, naming the
# file and JSON path, no output dir); a suite runs, reports status, never re-runs a finished run; a suite killed
# with SIGKILL mid-run resumes and its loss curves equal an uninterrupted suite's bit for bit; regress passes
# against its own baseline and fails against a doctored one.
# Usage: cli_suite.sh path/to/skipbench   (run from the repository root, with data/default built)
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/suite_kill.sh"

small='"base": "configs/tiny.json", "set": {"model.dim": 32, "model.n_layers": 4, "model.max_seq_len": 32,
  "train.batch_size": 4, "train.micro_batch_size": 4, "train.val_every": 6, "train.val_max_batches": 4, "train.threads": 1}'
write() { printf '%s\n' "$2" > "$tmp/$1"; }
write unknown.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0], \"grups\": []}"
write emptygrid.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\", \"grid\": {\"model.n_layers\": []}}]}"
write variant.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"densest\"}]}"
write budget.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"tokens\", \"value\": 0}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\"}]}"
write tinybudget.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"tokens\", \"value\": 100}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\"}]}"
write huge.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\", \"grid\": {\"model.n_layers\": [1e10]}}]}"
write dup.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\"}, {\"name\": \"d\", \"variant\": \"skip_middle\"}]}"
write badkey.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"groups\": [{\"name\": \"d\", \"variant\": \"dense\", \"set\": {\"model.nlayers\": 2}}]}"
check() {  # file, expected substring
  "$bin" suite run "$tmp/$1" --out "$tmp/out_$1" >"$tmp/o" 2>"$tmp/e"
  local rc=$? lines; lines=$(wc -l <"$tmp/e")
  if [[ $rc -ne 2 || $lines -ne 1 || -e "$tmp/out_$1" ]] || ! grep -q "$tmp/$1: .*$2" "$tmp/e"; then
    fail "$1: rc=$rc lines=$lines"; cat "$tmp/e"
  else echo "ok   $1: $(cat "$tmp/e")"; fi
}
check unknown.json "grups: unknown key"
check emptygrid.json "groups\[0\].grid.model.n_layers: expected a non-empty list"
check variant.json "groups\[0\].variant: .*unknown variant 'densest'"
check budget.json "budget.value: expected a number > 0"
check dup.json "duplicate run name 'd'"
check huge.json "model: this run needs about .* GiB"
check tinybudget.json "budget.value: 100 tokens is less than one step (128 tokens"
check badkey.json "groups\[0\].set: model.nlayers: unknown key"
write badorder.json "{\"name\": \"x\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 4}, \"seeds\": [0],
  \"order\": \"random\", \"groups\": [{\"name\": \"d\", \"variant\": \"dense\"}]}"
check badorder.json 'order: expected "config" (the default) or "seed"'

# "order": "seed" runs every configuration of the first seed before the next seed (the default is by configuration)
write order.json "{\"name\": \"o\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 2}, \"seeds\": [3, 1],
  \"order\": \"seed\", \"groups\": [{\"name\": \"d\", \"variant\": \"dense\", \"grid\": {\"model.n_layers\": [2, 4]}}]}"
"$bin" suite run "$tmp/order.json" --out "$tmp/order" --no-report >/dev/null 2>&1 || fail "order: seed suite run"
got=$(python3 -c "import json,sys; print(' '.join(f\"{r['name']}/{r['seed']}\" for r in json.load(open(sys.argv[1]))['runs']))" \
      "$tmp/order/suite.json")
[[ "$got" == "d-n_layers_2/3 d-n_layers_4/3 d-n_layers_2/1 d-n_layers_4/1" ]] && echo "ok   order seed: $got" ||
  fail "order seed: runs listed as '$got'"

# a real suite: 2 groups x 2 seeds, 12 steps, checkpoints every 2 steps
write s.json "{\"name\": \"s\", $small, \"budget\": {\"kind\": \"steps\", \"value\": 12}, \"seeds\": [0, 1],
  \"checkpoint_every\": 2, \"groups\": [{\"name\": \"dense\", \"variant\": \"dense\"},
  {\"name\": \"gated\", \"variant\": \"skip_middle\", \"controller\": {\"name\": \"proportional\",
   \"options\": {\"mean_target_start\": 0.9, \"mean_target_end\": 0.5, \"coef_update_multiplier\": 0.5}}}]}"
"$bin" suite run "$tmp/s.json" --out "$tmp/whole" --jobs 2 --no-report >/dev/null 2>&1 || fail "suite run"
"$bin" suite status "$tmp/whole" | grep -q "4 runs: 4 done" || fail "status after a complete suite"
before=$(stat -c %Y "$tmp/whole/runs/dense/seed0/run.json")
sleep 1
"$bin" suite run "$tmp/s.json" --out "$tmp/whole" --no-report 2>"$tmp/e" >/dev/null || fail "re-run of a complete suite"
grep -q "4 done, 0 failed earlier, 0 to run" "$tmp/e" || { fail "finished runs were scheduled again"; cat "$tmp/e"; }
[[ $(stat -c %Y "$tmp/whole/runs/dense/seed0/run.json") == "$before" ]] || fail "a finished run was re-run"

# kill -9 in the middle, then resume
kill_suite_mid_run "$bin" "$tmp/s.json" "$tmp/killed" gated/seed0
cp "$tmp/killed/.status" "$tmp/status"
grep -q "pending" "$tmp/status" || { fail "status after kill shows no pending run"; cat "$tmp/status"; }
grep -q " running " "$tmp/status" && fail "a killed run still shows as running"
"$bin" suite run "$tmp/s.json" --out "$tmp/killed" --no-report >/dev/null 2>&1 || fail "resume after kill -9"
python3 - "$tmp/whole" "$tmp/killed" <<'PY' || fail "resumed curves differ"
import json, sys
a, b = sys.argv[1], sys.argv[2]
for run in ("dense/seed0", "dense/seed1", "gated/seed0", "gated/seed1"):
    ra = json.load(open(f"{a}/runs/{run}/run.json")); rb = json.load(open(f"{b}/runs/{run}/run.json"))
    assert ra["train_curve"]["loss"] == rb["train_curve"]["loss"], run
    assert ra["val_curve"] == rb["val_curve"], run
print("ok   killed suite resumed; curves identical to the uninterrupted suite")
PY

# kill -9 of the suite process alone: its trainer dies with it (parent-death signal), never trains twice
setsid "$bin" suite run "$tmp/s.json" --out "$tmp/parent" --no-report >/dev/null 2>&1 &
spid=$!
for _ in $(seq 1 200); do [[ -f "$tmp/parent/runs/gated/seed0/checkpoint/state.json" ]] && break; sleep 0.05; done
kill -9 "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
gone=0
for _ in $(seq 1 100); do
  "$bin" suite status "$tmp/parent" | grep -q " running " || { gone=1; break; }
  sleep 0.05
done
[[ $gone == 1 ]] || fail "the trainer outlived its killed suite"
"$bin" suite run "$tmp/s.json" --out "$tmp/parent" --no-report >/dev/null 2>&1 || fail "resume after killing the suite alone"
python3 - "$tmp/whole" "$tmp/parent" <<'PY' || fail "curves after killing the suite alone differ"
import json, sys
for run in ("dense/seed0", "dense/seed1", "gated/seed0", "gated/seed1"):
    ra = json.load(open(f"{sys.argv[1]}/runs/{run}/run.json")); rb = json.load(open(f"{sys.argv[2]}/runs/{run}/run.json"))
    assert ra["train_curve"]["loss"] == rb["train_curve"]["loss"], run
    lines = [l for l in open(f"{sys.argv[2]}/runs/{run}/metrics.jsonl") if '"kind":"train"' in l]
    assert len(lines) == 12, (run, len(lines))  # every step exactly once
print("ok   suite killed alone: its trainer died with it; resumed curves identical, metrics complete")
PY

# one trainer per run directory: a second one refuses while the first holds the lock
mkdir -p "$tmp/locked"
flock "$tmp/locked/train.lock" sleep 20 &
lpid=$!
sleep 0.3
"$bin" train --config configs/tiny.json --set train.steps=2 --set model.n_layers=2 --set model.dim=32 \
  --set model.max_seq_len=32 --set train.batch_size=4 --set train.micro_batch_size=4 --out "$tmp/locked" \
  >/dev/null 2>"$tmp/e"; rc=$?
kill "$lpid" 2>/dev/null; wait "$lpid" 2>/dev/null
if [[ $rc -ne 2 ]] || ! grep -q "train.lock: another skipbench process.* is training in" "$tmp/e" || [[ -e "$tmp/locked/metrics.jsonl" ]]; then
  fail "a second trainer on a locked directory: rc=$rc"; cat "$tmp/e"
else echo "ok   a second trainer refuses a run directory in use: $(cut -c1-120 "$tmp/e")"; fi

# a changed suite is refused in the same output directory, naming the run and the key
sed 's/"train.threads": 1}/"train.threads": 1, "train.warmup_frac": 0.2}/' "$tmp/s.json" > "$tmp/s2.json"
"$bin" suite run "$tmp/s2.json" --out "$tmp/whole" --no-report >/dev/null 2>"$tmp/e"; rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "run dense seed 0 was resolved from another config (train.warmup_frac: 0.1 -> 0.2)" "$tmp/e"; then
  fail "a changed suite was not refused: rc=$rc"; cat "$tmp/e"
else echo "ok   a changed suite is refused: $(cut -c1-160 "$tmp/e")"; fi

# a directory written before a key joined the defaults (its runs' config.json lack train.grad_bucket_mb, so the
# checksums in its suite.json differ) resumes when the suite asks for the key's default (an absent key means the
# default: the same experiment); asked for another value, it is refused naming the key
cp -r "$tmp/whole" "$tmp/older"
python3 - "$tmp/older" <<'PY'
import glob, json, sys
d = sys.argv[1]
for c in glob.glob(d + "/runs/*/*/config.json"):
    j = json.load(open(c)); del j["train"]["grad_bucket_mb"]; json.dump(j, open(c, "w"))
s = json.load(open(d + "/suite.json"))
for r in s["runs"]: r["config_fnv1a64"] = "0" * 16
json.dump(s, open(d + "/suite.json", "w"))
PY
sed 's/"train.threads": 1}/"train.threads": 1, "train.grad_bucket_mb": 1}/' "$tmp/s.json" > "$tmp/s3.json"
"$bin" suite run "$tmp/s3.json" --out "$tmp/older" --no-report >/dev/null 2>"$tmp/e"; rc=$?
if [[ $rc -ne 2 ]] || ! grep -q "was resolved from another config (train.grad_bucket_mb (new))" "$tmp/e"; then
  fail "an older directory asked for a non-default new key was not refused: rc=$rc"; cat "$tmp/e"
else echo "ok   a new key at another value than its default is refused: $(cut -c1-140 "$tmp/e")"; fi
"$bin" suite run "$tmp/s.json" --out "$tmp/older" --no-report 2>"$tmp/e" >/dev/null || { fail "older directory refused"; cat "$tmp/e"; }
if grep -q "4 done, 0 failed earlier, 0 to run" "$tmp/e"; then echo "ok   a directory from before a new default key resumes: nothing re-run"
else fail "older directory: finished runs scheduled again"; cat "$tmp/e"; fi

# regress against its own baseline passes; against a doctored baseline it fails with exit 1
"$bin" regress --baseline "$tmp/base.json" "$tmp/whole" --update >/dev/null || fail "baseline update"
"$bin" regress --baseline "$tmp/base.json" "$tmp/killed" >"$tmp/r" || { fail "regress vs own baseline"; cat "$tmp/r"; }
python3 - "$tmp/base.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); r = b["runs"]["gated/seed1"]; r["val_loss"][-1] += 0.5
json.dump(b, open(sys.argv[1], "w"))
PY
"$bin" regress --baseline "$tmp/base.json" "$tmp/whole" >"$tmp/r"; rc=$?
[[ $rc -eq 1 ]] && grep -q "REGRESSION" "$tmp/r" || { fail "a doctored baseline did not fail (rc=$rc)"; cat "$tmp/r"; }
echo "ok   regress: passes on its own baseline, exit 1 on a changed one"
exit $((fails > 0))
