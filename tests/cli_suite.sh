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
check badkey.json "groups\[0\].set: model.nlayers: unknown key"

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
