#!/usr/bin/env bash
# regress_planted.sh: `skipbench regress` catches real regressions and never flags a clean re-run.
# A small suite (dense, gated with the paper's controller, forced 75% skipping with key gating) is run once and
# made the baseline. Then:
#   clean   the same suite again (other --jobs), and once killed with SIGKILL and resumed: no regression, exact mode;
#   planted each deliberate change below, run as the same suite: regress must exit 1 with a REGRESSION on a
#           *metric* (loss, lr, sparsity or FLOPs row), not only the config check, in the exact mode and in the
#           tolerance mode with the committed smoke baseline's measured tolerances;
#   data    other data is an error (exit 2, one line naming the data), not a regression.
# Usage: regress_planted.sh path/to/skipbench   (from the repository root, with data/default built)
set -u
bin="$1"
py="${SKIPBENCH_PYTHON:-.venv/bin/python}"
[[ -x "$py" ]] || py=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
source "$(dirname "$0")/suite_kill.sh"

# spec.py NAME [CHANGE]: writes $tmp/NAME.json, the suite with one planted change
cat >"$tmp/spec.py" <<'PY'
import json, sys
name, change = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "none")
base_set = {"model.dim": 32, "model.max_seq_len": 32, "train.batch_size": 4, "train.micro_batch_size": 4,
            "train.val_every": 5, "train.val_max_batches": 2, "train.log_every": 5, "train.threads": 1,
            "train.optimizer.default.lr": 0.003, "model.init_std": 0.02}
ctrl = {"name": "proportional", "options": {"mean_target_start": 0.9, "mean_target_end": 0.3,
                                            "coef_update_multiplier": 0.5}}
dense = {"name": "dense", "variant": "dense", "set": {"model.n_layers": 3}}
gated = {"name": "gated", "variant": "skip_middle", "set": {"model.n_layers": 4}, "controller": ctrl}
forced = {"name": "forced", "variant": "forced_skip", "set": {"model.n_layers": 4},
          "options": {"sparsity": 0.75, "attention_gate": "key"}}
if change == "gating_none":  # attention gating key -> none, on every gated group
    gated["options"] = {"attention_gate": "none"}; forced["options"]["attention_gate"] = "none"
elif change == "lr_x1.1":
    base_set["train.optimizer.default.lr"] = 0.003 * 1.1
elif change == "one_layer_fewer":
    dense["set"]["model.n_layers"] = 2
elif change == "init_std":
    base_set["model.init_std"] = 0.02 * 1.1
elif change == "controller_x2":
    ctrl["options"]["coef_update_multiplier"] = 1.0
else:
    assert change == "none", change
spec = {"name": "planted", "base": "configs/tiny.json", "set": base_set,
        "budget": {"kind": "steps", "value": 15}, "seeds": [0], "checkpoint_every": 5,
        "groups": [dense, gated, forced]}
json.dump(spec, open(f"{sys.argv[3]}/{name}.json", "w"), indent=1)
PY
run_suite() {  # name change jobs
  "$py" "$tmp/spec.py" "$1" "$2" "$tmp" || { fail "spec $1"; return 1; }
  "$bin" suite run "$tmp/$1.json" --out "$tmp/$1" --jobs "$3" --no-report >"$tmp/$1.log" 2>&1 || {
    fail "suite $1 did not run"; tail -5 "$tmp/$1.log"; return 1; }
}
# metric rows flagged (not the config note): lines ending in REGRESSION that are table rows
metric_flags() { grep -E 'REGRESSION$' "$1" | grep -vc -E 'config differs|not in the baseline|missing from'; }

run_suite base none 2
"$bin" regress --update --baseline "$tmp/base.json" "$tmp/base" >/dev/null || fail "baseline"
"$py" - "$tmp/base.json" <<'PY' || fail "the planted suite's gated run learned no sparsity: it could not catch gate regressions"
import json, sys
b = json.load(open(sys.argv[1]))
assert b["runs"]["gated/seed0"]["sparsity"] > 0.05, b["runs"]["gated/seed0"]["sparsity"]
assert b["runs"]["forced/seed0"]["sparsity"] > 0.5
PY

# ---- clean re-runs are never flagged ----
run_suite clean none 1
"$bin" regress --baseline "$tmp/base.json" "$tmp/clean" >"$tmp/r" || { fail "a clean re-run was flagged"; cat "$tmp/r"; }
grep -q "^mode: exact" "$tmp/r" || { fail "same machine, but not the exact mode"; head -2 "$tmp/r"; }
cp "$tmp/clean.json" "$tmp/killed.json"
kill_suite_mid_run "$bin" "$tmp/killed.json" "$tmp/killed" gated/seed0
"$bin" suite run "$tmp/killed.json" --out "$tmp/killed" --no-report >/dev/null 2>&1 || fail "resume after kill -9"
"$bin" regress --baseline "$tmp/base.json" "$tmp/killed" >"$tmp/r" || { fail "a killed-and-resumed suite was flagged"; cat "$tmp/r"; }
echo "ok   clean re-runs (--jobs 1; killed and resumed): no regression, exact mode"

# the tolerance mode with the committed smoke baseline's measured tolerances (if it has them)
"$py" - "$tmp/base.json" reports/baselines/smoke.json "$tmp/base_tol.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); smoke = json.load(open(sys.argv[2]))
b["tolerance"] = smoke.get("tolerance")
json.dump(b, open(sys.argv[3], "w"))
PY
if "$bin" regress --mode tolerance --baseline "$tmp/base_tol.json" "$tmp/clean" >"$tmp/r" 2>&1; then
  tol_mode=1
else
  tol_mode=0; fail "tolerance mode on a clean re-run"; cat "$tmp/r"
fi

# ---- planted regressions are caught, by the metrics ----
for change in gating_none lr_x1.1 one_layer_fewer init_std controller_x2; do
  run_suite "$change" "$change" 2 || continue
  for mode in exact tolerance; do
    [[ $mode == tolerance && $tol_mode == 0 ]] && continue
    b="$tmp/base.json"; [[ $mode == tolerance ]] && b="$tmp/base_tol.json"
    "$bin" regress --mode "$mode" --baseline "$b" "$tmp/$change" >"$tmp/r" 2>&1; rc=$?
    n=$(metric_flags "$tmp/r")
    if [[ $rc -ne 1 || $n -lt 1 ]]; then
      fail "$change not caught by a metric in $mode mode (rc=$rc, metric rows flagged: $n)"; cat "$tmp/r"
    else
      echo "ok   $change caught ($mode mode): $n metric check(s), e.g. $(grep -E 'REGRESSION$' "$tmp/r" | grep -v 'config differs' | head -1 | awk '{print $1, $2, $3}')"
    fi
  done
done

# a FLOPs formula change: the estimator no longer gives the numbers the baseline recorded
"$py" - "$tmp/base.json" "$tmp/flops.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
r = b["runs"]["gated/seed0"]["flops"]
x = float.fromhex(r["standard_training_per_token"]); r["standard_training_per_token"] = (x * 1.001).hex()
json.dump(b, open(sys.argv[2], "w"))
PY
"$bin" regress --baseline "$tmp/flops.json" "$tmp/clean" >"$tmp/r"; rc=$?
[[ $rc -eq 1 ]] && grep -q "FLOPs standard train .*REGRESSION" "$tmp/r" || { fail "a FLOPs formula change was not caught"; cat "$tmp/r"; }
echo "ok   FLOPs formula change caught"

# lists of different lengths are a regression, never truncated
"$py" - "$tmp/base.json" "$tmp/len.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1])); r = b["runs"]["gated/seed0"]
r["zero_fraction"] = r["zero_fraction"][:-1]
json.dump(b, open(sys.argv[2], "w"))
PY
"$bin" regress --baseline "$tmp/len.json" "$tmp/clean" >"$tmp/r"; rc=$?
[[ $rc -eq 1 ]] && grep -q "zero fraction by layer: 4 values, baseline 3" "$tmp/r" || { fail "a shorter zero-fraction list passed"; cat "$tmp/r"; }
echo "ok   a list of another length is a regression"

# a baseline older than a config key: the key is absent there and reads as its default, so it is no difference
# (model.input_norm, variant.options.mask_init_std, controller options); the same key recorded with another
# value than the run's is one
"$py" - "$tmp/base.json" "$tmp/old.json" "$tmp/other.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
for r in b["runs"].values():
    r["config"]["model"].pop("input_norm", None)
    r["config"]["variant"]["options"].pop("mask_init_std", None)
json.dump(b, open(sys.argv[2], "w"))
b["runs"]["gated/seed0"]["config"]["model"]["input_norm"] = False
json.dump(b, open(sys.argv[3], "w"))
PY
"$bin" regress --baseline "$tmp/old.json" "$tmp/clean" >"$tmp/r" || { fail "keys added since the baseline were flagged"; cat "$tmp/r"; }
"$bin" regress --baseline "$tmp/other.json" "$tmp/clean" >"$tmp/r"; rc=$?
[[ $rc -eq 1 ]] && grep -q "gated/seed0: config differs.*model.input_norm" "$tmp/r" || { fail "a recorded key with another value passed"; cat "$tmp/r"; }
echo "ok   keys newer than the baseline read as their defaults; a recorded other value is a difference"

# a failed run is a regression (exit 1, the table still printed), not an error
cp -r "$tmp/clean" "$tmp/failedrun"
rm "$tmp/failedrun/runs/gated/seed0/run.json"
echo '{"reason": "loss became nan at step 3", "exit_code": 3}' > "$tmp/failedrun/runs/gated/seed0/failed.json"
"$bin" regress --baseline "$tmp/base.json" "$tmp/failedrun" >"$tmp/r" 2>&1; rc=$?
if [[ $rc -ne 1 ]] || ! grep -q 'gated/seed0: status "failed", baseline "completed" ("loss became nan at step 3")  REGRESSION' "$tmp/r" \
   || ! grep -q '^dense/seed0 .*train loss' "$tmp/r"; then
  fail "a failed run: rc=$rc"; cat "$tmp/r"
else echo "ok   a failed run is a regression, the other runs still compared"; fi

# ---- other data: an error naming the data, not a regression ----
"$py" - "$tmp/base.json" "$tmp/data.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
for r in b["runs"].values(): r["data"]["train_fnv1a64"] = "0123456789abcdef"
json.dump(b, open(sys.argv[2], "w"))
PY
"$bin" regress --baseline "$tmp/data.json" "$tmp/clean" >"$tmp/o" 2>"$tmp/e"; rc=$?
if [[ $rc -ne 2 || $(wc -l <"$tmp/e") -ne 1 ]] || ! grep -q "read other data than .*train tokens checksum" "$tmp/e"; then
  fail "other data: rc=$rc"; cat "$tmp/e"
else echo "ok   other data: $(cut -c1-150 "$tmp/e")..."; fi

exit $((fails > 0))
