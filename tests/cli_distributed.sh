#!/usr/bin/env bash
# cli_distributed.sh: data-parallel training on c10d Gloo (CPU, loopback), launched by the project .venv's torchrun.
#   1. 2 ranks against 1 process with the same global batch (skip_middle + proportional controller, so gate
#      statistics are all-reduced too): train loss at every step and the final validation loss within 1e-5 nats,
#      the controller's final state within 1e-6 (all-reduce sums in another order than one process: measured
#      differences are ~2e-7 in fp32), run.json records world_size 2.
#   1b. The same for LayerDrop with real skipping (p_max 0.5, train.skip_compute, early-exit loss): its random
#      draws are indexed by the micro-batch's place in the global batch, so 2 ranks drop what one process drops.
#   1c. Validation dealt over the ranks: with the weights held fixed, the 2-rank validation (loss, gate metrics,
#      the final token analysis with difficulty labels) equals one process's to 1e-12; 1 batch: every rank does it.
#   1d. Gradient buckets started during the backward (train.grad_bucket_mb) equal one flat all-reduce bitwise
#      (curve, val loss, controller, weights), for skip_middle and for LayerDrop whose dropped blocks get no gradient.
#   1e. A parameter no rank has a gradient for (hard skip) keeps none: the optimizer leaves it alone, as in 1 process.
#   1f. `skipbench eval` (soft, --hard-skip) under torchrun equals one process's evaluation to 1e-12; rank 0 writes.
#   2. A stop signal to rank 1 alone stops both ranks at the same step, checkpointed (exit 75 each); the resumed
#      2-rank run ends with the uninterrupted 2-rank run's curve exactly. Another world size: the same checkpoint
#      resumed by 1 process (stopped again by a signal) and then by 2 ranks again ends within 1e-5 of the
#      uninterrupted 2-rank run over its first 60 steps (the window stream does not depend on the world size; the
#      summation order does), and run.json's distributed.segments records the three stretches. Why 60: fp32 rounding
#      differences of ~1e-7 grow through the gates and the controller's threshold decisions; measured on this
#      config, 1 process and 2 ranks (no resume at all) stay within 1e-6 for 70 steps and differ by 0.003-0.05
#      nats from step 90 on, as the 2 -> 1 -> 2 run does: chaos, not a resume fault.
#   3. A rank killed with SIGKILL ends the whole run non-zero within 60 s.
#   4. Bad input: a partial torchrun environment, a world size that does not divide the batch, a wall-clock budget.
#   5. `suite run --nproc-per-run 2`: the suite's run equals the direct 2-rank run exactly; a stop signal to one of
#      its ranks leaves it pending (not failed: torchrun exits 1, the trainer's stop line decides), the same command
#      resumes it onto the uninterrupted 2-rank curve exactly; a diverged run is reported as diverged (torchrun's
#      exit 1 hides the trainer's 3: the record decides); a batch the ranks cannot split and a missing torchrun are
#      refused before anything trains.
# Usage: cli_distributed.sh path/to/skipbench   (run from the repository root, with data/default built)
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'if [[ -n "${KEEP:-}" ]]; then echo "kept $tmp"; else rm -rf "$tmp"; fi' EXIT  # KEEP=1: keep the runs
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
torchrun=.venv/bin/torchrun
[[ -x "$torchrun" ]] || torchrun="$(dirname "$(command -v python3)")/torchrun"
[[ -x "$torchrun" ]] || { echo "SKIP: no torchrun (the project .venv's torch provides it)"; exit 0; }
export OMP_NUM_THREADS=1 SKIPBENCH_DIST_TIMEOUT_S=30
S=(--config configs/tiny.json --set model.dim=32 --set model.n_layers=4 --set model.max_seq_len=32
   --set train.batch_size=8 --set train.micro_batch_size=2 --set train.val_every=10 --set train.val_max_batches=4
   --set train.threads=1 --set variant.name=skip_middle --set train.checkpoint_every=1000
   --set 'train.controller={"name": "proportional", "options": {"mean_target_start": 1.0, "mean_target_end": 0.5,
                                                                "coef_update_multiplier": 0.5}}')
port=$((29600 + RANDOM % 300))
dp() { "$torchrun" --nnodes 1 --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint "127.0.0.1:$port" \
         --max-restarts 0 --no-python "$bin" train "$@"; }
prefix() {  # run.json a, run.json b, tolerance, steps: train losses of the first steps only
  python3 - "$@" <<'PY'
import json, sys
a, b = (json.load(open(p))["train_curve"]["loss"] for p in sys.argv[1:3]); tol = float(sys.argv[3]); n = int(sys.argv[4])
assert len(a) == len(b) >= n, (len(a), len(b))
d = max(abs(x - y) for x, y in zip(a[:n], b[:n]))
assert d <= tol, d
print(f"max train-loss difference over the first {n} steps {d:.2e}")
PY
}
compare() {  # run.json a, run.json b, tolerance on losses
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3]); tol = float(sys.argv[3])
la, lb = a["train_curve"]["loss"], b["train_curve"]["loss"]
assert len(la) == len(lb), (len(la), len(lb))
d = max(abs(x - y) for x, y in zip(la, lb))
dv = abs(a["final"]["val_loss"] - b["final"]["val_loss"])
ca = a["controller"]["final_state"]; cb = b["controller"]["final_state"]
dc = max(abs(x - y) for k in ca if isinstance(ca[k], list) for x, y in zip(ca[k], cb[k]))
assert d <= tol and dv <= tol and dc <= max(tol / 10, 1e-12), (d, dv, dc)
print(f"max train-loss difference {d:.2e}, val {dv:.2e}, controller state {dc:.2e}")
PY
}

# two nested JSON documents equal in structure, their numbers within 1e-12 relative (sections 1c and 1f: the same
# sums in another order); worst[0]: the largest difference seen
cat >"$tmp/close12.py" <<'PY'
worst = [0.0]
def close(x, y, where):
    if isinstance(x, dict):
        assert x.keys() == y.keys(), (where, x.keys() ^ y.keys())
        for k in x: close(x[k], y[k], where + "." + k)
    elif isinstance(x, list):
        assert len(x) == len(y), where
        for i, (u, v) in enumerate(zip(x, y)): close(u, v, f"{where}[{i}]")
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        d = abs(x - y) / max(1.0, abs(x)); worst[0] = max(worst[0], d)
        assert d <= 1e-12, (where, x, y)
    else: assert x == y, (where, x, y)
PY

# --- 1. 2 ranks == 1 process
"$bin" train "${S[@]}" --set train.steps=24 --out "$tmp/one" >/dev/null 2>&1 || fail "1 process"
dp "${S[@]}" --set train.steps=24 --out "$tmp/two" >"$tmp/two.log" 2>&1 || { fail "2 ranks"; tail -5 "$tmp/two.log"; }
if out=$(compare "$tmp/one/run.json" "$tmp/two/run.json" 1e-5); then echo "ok   2 ranks vs 1 process: $out"
else fail "2 ranks vs 1 process: $out"; fi
python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["distributed"]; assert d["world_size"] == 2 and d["backend"] == "gloo", d' \
  "$tmp/two/run.json" || fail "run.json distributed"

# --- 1b. LayerDrop: 2 ranks == 1 process (the draws follow the global micro-batch index)
LD=(--set variant.name=layerdrop --set variant.options.p_max=0.5 --set variant.options.exit_scale=0.1
    --set variant.options.exit_stride=2 --set train.skip_compute=true --set train.controller.name=none --set 'train.controller.options={}'
    --set train.steps=24)
"$bin" train "${S[@]}" "${LD[@]}" --out "$tmp/ld1" >/dev/null 2>&1 || fail "layerdrop 1 process"
port=$((port + 1))
dp "${S[@]}" "${LD[@]}" --out "$tmp/ld2" >"$tmp/ld2.log" 2>&1 || { fail "layerdrop 2 ranks"; tail -5 "$tmp/ld2.log"; }
if out=$(prefix "$tmp/ld1/run.json" "$tmp/ld2/run.json" 1e-5 24) &&
   python3 -c 'import json,sys; a,b=(json.load(open(p))["final"]["val_loss"] for p in sys.argv[1:]); assert abs(a-b)<=1e-5,(a,b)' \
     "$tmp/ld1/run.json" "$tmp/ld2/run.json"; then echo "ok   layerdrop, 2 ranks vs 1 process: $out"
else fail "layerdrop 2 ranks vs 1 process: $out"; fi

# --- 1c. validation dealt over the ranks: with the weights held fixed (lr 1e-30, far below fp32's resolution of
# them), a 2-rank validation must equal one process's: loss, gate metrics and the final token analysis (synthetic
# data with difficulty labels) summed exactly but in another order (so 1e-12); 5 batches deal 3 + 2; one batch
# (fewer than the ranks) is evaluated whole by every rank.
"$bin" data synth --out "$tmp/syn" --train-tokens 20000 --val-tokens 4000 >/dev/null 2>&1 || fail "data synth"
V=(--set "data.train=$tmp/syn/train_0*.bin" --set "data.val=$tmp/syn/val_0*.bin" --set "data.val_labels=$tmp/syn/val_labels_*.bin"
   --set train.optimizer.default.lr=1e-30 --set train.steps=10 --set train.val_every=5)
for n in 5 1; do
  "$bin" train "${S[@]}" "${V[@]}" --set train.val_max_batches=$n --out "$tmp/v1_$n" >/dev/null 2>&1 || fail "val split: 1 process"
  port=$((port + 1))
  dp "${S[@]}" "${V[@]}" --set train.val_max_batches=$n --out "$tmp/v2_$n" >"$tmp/v2_$n.log" 2>&1 || { fail "val split: 2 ranks"; tail -5 "$tmp/v2_$n.log"; }
  if out=$(python3 - "$tmp/v1_$n/metrics.jsonl" "$tmp/v2_$n/metrics.jsonl" $n "$tmp" <<'PY'
import json, sys
def vals(p): return [r for r in map(json.loads, open(p)) if r.get("kind") == "val"]
a, b, n = vals(sys.argv[1]), vals(sys.argv[2]), int(sys.argv[3])
assert len(a) == len(b) == 2, (len(a), len(b))
sys.path.insert(0, sys.argv[-1]); from close12 import close, worst
want = 2 if n >= 2 else 1
for ra, rb in zip(a, b):
    assert ra["ranks"] == 1 and rb["ranks"] == want, (ra["ranks"], rb["ranks"])
    close(ra["val_loss"], rb["val_loss"], "val_loss"); close(ra["gates"], rb["gates"], "gates")
ta, tb = a[-1]["which_tokens_skip"], b[-1]["which_tokens_skip"]
assert ta["tokens"] == n * 2 * 32 and tb["tokens"] == ta["tokens"], (ta["tokens"], tb["tokens"])
for k in ("histogram", "by_difficulty_class", "mean_skip_depth", "pearson_depth_loss"): close(ta[k], tb[k], k)
print(f"{n} batch(es): val records equal to {worst[0]:.1e} (relative), dealt over {want} rank(s)")
PY
  ); then echo "ok   validation split: $out"; else fail "validation split over ranks ($n batches): $out"; fi
done

# --- 1d. gradient buckets started during the backward (train.grad_bucket_mb) == one flat all-reduce after it,
# bitwise: with 2 ranks each gradient element is one fp32 sum a + b either way. Buckets of 16 KiB give this model
# dozens. skip_middle (every parameter gets a gradient: the hooks start buckets during the backward) and LayerDrop
# with real skipping (a dropped block's parameters get none on a rank: its bucket and the later ones wait for
# finish(), in the same order on both ranks) must both end with the flat run's curve, val loss and weights.
for v in sm ld; do
  X=(); [[ $v == ld ]] && X=("${LD[@]}")
  for mb in 0 0.015625; do
    port=$((port + 1))
    dp "${S[@]}" "${X[@]}" --set train.steps=12 --set train.grad_bucket_mb=$mb --out "$tmp/bk_${v}_$mb" \
      >"$tmp/bk_${v}_$mb.log" 2>&1 || { fail "buckets $v $mb"; tail -5 "$tmp/bk_${v}_$mb.log"; }
  done
  if out=$(python3 - "$tmp/bk_${v}_0" "$tmp/bk_${v}_0.015625" $v <<'PY'
import hashlib, json, sys
(a, b), v = (json.load(open(d + "/run.json")) for d in sys.argv[1:3]), sys.argv[3]
assert a["train_curve"]["loss"] == b["train_curve"]["loss"], "train curves differ"
assert a["final"]["val_loss"] == b["final"]["val_loss"], (a["final"]["val_loss"], b["final"]["val_loss"])
assert a["controller"]["final_state"] == b["controller"]["final_state"], "controller states differ"
ga, gb = a["distributed"]["gradient_all_reduce"], b["distributed"]["gradient_all_reduce"]
assert ga["mode"].startswith("one flat") and gb["mode"].startswith("buckets"), (ga, gb)
assert gb["buckets"] >= 10, gb
if v == "sm": assert gb["started_in_backward_last_step"] >= gb["buckets"] - 1, gb  # all but the embedding's
h = [hashlib.sha256(open(d + "/model.pt", "rb").read()).hexdigest() for d in sys.argv[1:3]]
assert h[0] == h[1], "weights differ"
print(f"{len(a['train_curve']['loss'])} steps equal bitwise, same weights; {gb['buckets']} buckets, "
      f"{gb['started_in_backward_last_step']} started during the last backward")
PY
  ); then echo "ok   gradient buckets ($v) == flat all-reduce: $out"; else fail "gradient buckets ($v): $out"; fi
done

# --- 1e. a parameter no rank has a gradient for keeps none: forced_skip at sparsity 0.5 over 4 layers skips blocks 1
# and 2 for every token, and with train.skip_compute they get no gradient at all. One process's optimizer leaves
# them alone (no weight decay, no moment update); 2 ranks, flat or bucketed, must too (an all-reduced zero
# gradient would decay them at weight_decay 0.1). Checked on the weights: blocks 1-2 equal their init bitwise
# (the init: the same run at lr 1e-30) in all three, block 0 does not (it trained).
FS=(--set variant.name=forced_skip --set 'variant.options={"sparsity": 0.5}' --set train.skip_compute=true
    --set train.controller.name=none --set 'train.controller.options={}' --set train.optimizer.default.weight_decay=0.1
    --set train.steps=6)
"$bin" train "${S[@]}" "${FS[@]}" --out "$tmp/fs1" >/dev/null 2>&1 || fail "forced_skip: 1 process"
"$bin" train "${S[@]}" "${FS[@]}" --set train.optimizer.default.lr=1e-30 --out "$tmp/fs0" >/dev/null 2>&1 || fail "forced_skip: init"
for mb in 0 0.015625; do
  port=$((port + 1))
  dp "${S[@]}" "${FS[@]}" --set train.grad_bucket_mb=$mb --out "$tmp/fs2_$mb" >"$tmp/fs2.log" 2>&1 || { fail "forced_skip: 2 ranks $mb"; tail -5 "$tmp/fs2.log"; }
done
if out=$("$(dirname "$torchrun")/python" - "$tmp/fs0" "$tmp/fs1" "$tmp/fs2_0" "$tmp/fs2_0.015625" <<'PY'
import json, sys, torch
init, *runs = (dict(torch.jit.load(d + "/model.pt").named_parameters()) for d in sys.argv[1:])
for d, w in zip(sys.argv[2:], runs):
    for k, v in w.items():
        same = torch.equal(v, init[k])
        if k.startswith(("layers.1.", "layers.2.")): assert same, f"{d}: {k} moved though it never had a gradient"
        if k.startswith("layers.0.") and k.endswith("wq.weight"): assert not same, f"{d}: {k} did not train"
one, *two = (json.load(open(d + "/run.json"))["train_curve"]["loss"] for d in sys.argv[2:])
for t in two: assert max(abs(a - b) for a, b in zip(one, t)) <= 1e-5, (one, t)
print("blocks 1-2 at their init in 1 process, 2 ranks flat and bucketed; curves within 1e-5")
PY
); then echo "ok   globally unused parameters: $out"; else fail "globally unused parameters: $out"; fi

# --- 1f. `skipbench eval` under torchrun: the split dealt over 2 ranks equals one process's evaluation of the same
# weights (soft and real skipping: loss, gate metrics, executed work, the token analysis; 1e-12 relative: the
# same sums in another order), and rank 0 alone writes and prints.
dpx() { "$torchrun" --nnodes 1 --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint "127.0.0.1:$port" \
          --max-restarts 0 --no-python -- "$bin" "$@"; }  # --: torchrun's parser takes --run for its --run-path
for mode in soft hard_skip; do
  flag=(); [[ $mode == hard_skip ]] && flag=(--hard-skip)
  "$bin" eval --run "$tmp/one" "${flag[@]}" --max-batches 5 >/dev/null 2>&1 || fail "eval $mode: 1 process"
  cp "$tmp/one/eval_$mode.json" "$tmp/e1_$mode.json" 2>/dev/null
  port=$((port + 1))
  dpx eval --run "$tmp/one" "${flag[@]}" --max-batches 5 >"$tmp/e2_$mode.log" 2>&1 || { fail "eval $mode: 2 ranks"; tail -5 "$tmp/e2_$mode.log"; }
  if out=$(python3 - "$tmp/e1_$mode.json" "$tmp/one/eval_$mode.json" "$tmp/e2_$mode.log" "$tmp" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["ranks"] == 1 and b["ranks"] == 2, (a["ranks"], b["ranks"])
sys.path.insert(0, sys.argv[-1]); from close12 import close, worst
for k in ("loss", "tokens", "computed_fraction", "gates", "executed_flops"):
    if k in a or k in b: close(a.get(k), b.get(k), k)
ta, tb = a["which_tokens_skip"], b["which_tokens_skip"]
for k in ("tokens", "histogram", "mean_skip_depth", "pearson_depth_loss"): close(ta[k], tb[k], k)
printed = open(sys.argv[3]).read().count('"report"')
assert printed == 1, f"{printed} ranks printed a summary"
print(f"{a['tokens']:.0f} tokens, equal to {worst[0]:.1e} (relative); one summary printed")
PY
  ); then echo "ok   eval ($mode) over 2 ranks == 1 process: $out"; else fail "eval ($mode) over 2 ranks: $out"; fi
done

# --- 2. a signal to one rank stops both; resume
port=$((port + 1))
dp "${S[@]}" --set train.steps=200 --out "$tmp/sig" >"$tmp/sig.log" 2>&1 &
agent=$!
for _ in $(seq 1 600); do grep -q "^step " "$tmp/sig.log" 2>/dev/null && break; sleep 0.1; done
rank1=$(pgrep -f "skipbench train .*--out $tmp/sig" | sort -n | tail -1)
kill -USR1 "$rank1"
wait "$agent"
n=$(grep -c "stopped by a signal after step" "$tmp/sig.log")
[[ $n -ge 1 && -f "$tmp/sig/checkpoint/state.json" && ! -f "$tmp/sig/run.json" ]] && echo "ok   USR1 to rank 1: stopped and checkpointed" \
  || { fail "USR1 to rank 1 (stop lines: $n)"; tail -5 "$tmp/sig.log"; }
cp -r "$tmp/sig" "$tmp/sig1"  # the same checkpoint, for the 2 -> 1 -> 2 path below
port=$((port + 1))
dp "${S[@]}" --set train.steps=200 --out "$tmp/sig" >"$tmp/sig2.log" 2>&1 || { fail "resume 2 ranks"; tail -3 "$tmp/sig2.log"; }
port=$((port + 1))
dp "${S[@]}" --set train.steps=200 --out "$tmp/whole" >/dev/null 2>&1 || fail "uninterrupted 2 ranks"
if out=$(compare "$tmp/sig/run.json" "$tmp/whole/run.json" 0); then echo "ok   resumed 2-rank run equals the uninterrupted one: $out"
else fail "resumed 2-rank run: $out"; fi
# 2 ranks -> 1 process -> 2 ranks
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$tmp/sig1/checkpoint/state.json")
"$bin" train "${S[@]}" --set train.steps=200 --out "$tmp/sig1" >"$tmp/one.log" 2>&1 &
trainer=$!
for _ in $(seq 1 600); do grep -q "^step " "$tmp/one.log" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$trainer"
wait "$trainer"; rc=$?
second=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$tmp/sig1/checkpoint/state.json")
[[ $rc -eq 75 && $second -gt $first && ! -f "$tmp/sig1/run.json" ]] \
  && echo "ok   a 2-rank checkpoint (step $first) resumed by 1 process, stopped again after step $second" \
  || { fail "1-process resume of a 2-rank checkpoint: rc=$rc steps $first -> $second"; tail -3 "$tmp/one.log"; }
port=$((port + 1))
dp "${S[@]}" --set train.steps=200 --out "$tmp/sig1" >"$tmp/sig3.log" 2>&1 || { fail "back to 2 ranks"; tail -3 "$tmp/sig3.log"; }
if out=$(prefix "$tmp/sig1/run.json" "$tmp/whole/run.json" 1e-5 60); then echo "ok   2 -> 1 -> 2 ranks follows the uninterrupted run: $out"
else fail "2 -> 1 -> 2 ranks: $out"; fi
python3 - "$tmp/sig1/run.json" "$first" "$second" <<'PY' || fail "run.json distributed.segments"
import json, sys
seg = json.load(open(sys.argv[1]))["distributed"]["segments"]
want = [{"from_step": 0, "world_size": 2}, {"from_step": int(sys.argv[2]), "world_size": 1},
        {"from_step": int(sys.argv[3]), "world_size": 2}]
assert seg == want, seg
PY

# --- 3. a killed rank ends the run
port=$((port + 1))
start=$(date +%s)
dp "${S[@]}" --set train.steps=100000 --out "$tmp/kill" >"$tmp/kill.log" 2>&1 &
agent=$!
for _ in $(seq 1 600); do grep -q "^step " "$tmp/kill.log" 2>/dev/null && break; sleep 0.1; done
kill -9 "$(pgrep -f "skipbench train .*--out $tmp/kill" | sort -n | tail -1)"
wait "$agent"; rc=$?
took=$(( $(date +%s) - start ))
[[ $rc -ne 0 && $took -lt 90 ]] && echo "ok   a rank killed: the run ended non-zero (rc $rc) in ${took}s" \
  || fail "killed rank: rc=$rc after ${took}s"
pkill -9 -f "skipbench train .*--out $tmp/kill" 2>/dev/null

# --- 4. bad input
out=$(RANK=0 "$bin" train "${S[@]}" --set train.steps=2 --out "$tmp/bad" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"WORLD_SIZE: not set, but RANK is"* ]] && echo "ok   partial environment" || fail "partial env: rc=$rc $out"
out=$(RANK=0 WORLD_SIZE=3 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$bin" train "${S[@]}" --set train.steps=2 --out "$tmp/bad" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"train.batch_size: 8 is not a multiple of train.micro_batch_size (2) x the world size (3)"* ]] \
  && echo "ok   world size not dividing the batch" || fail "world 3: rc=$rc $out"
out=$(RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$bin" train "${S[@]}" --set train.budget.kind=wall_clock \
      --set train.budget.value=5 --out "$tmp/bad" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"train.budget.kind: wall_clock is not supported with several ranks"* ]] \
  && echo "ok   a wall-clock budget refused with several ranks" || fail "wall_clock: rc=$rc $out"
out=$("$bin" train "${S[@]}" --set train.grad_bucket_mb=-1 --out "$tmp/bad" 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"train.grad_bucket_mb: must be in [0, 65536] MiB"* ]] \
  && echo "ok   a negative bucket size refused" || fail "grad_bucket_mb -1: rc=$rc $out"
[[ -e "$tmp/bad" ]] && fail "bad input left $tmp/bad"

# --- 5. suites with --nproc-per-run
suite() {  # steps -> a suite file with the S settings as one run
  cat > "$tmp/suite_$1.json" <<EOF
{"name": "dp$1", "base": "configs/tiny.json",
 "set": {"model.dim": 32, "model.n_layers": 4, "model.max_seq_len": 32, "train.batch_size": 8,
         "train.micro_batch_size": 2, "train.val_every": 10, "train.val_max_batches": 4, "train.threads": 1},
 "budget": {"kind": "steps", "value": $1}, "seeds": [0], "checkpoint_every": 1000,
 "groups": [{"name": "gated", "variant": "skip_middle",
             "controller": {"name": "proportional", "options": {"mean_target_start": 1.0, "mean_target_end": 0.5,
                                                                "coef_update_multiplier": 0.5}}}]}
EOF
  echo "$tmp/suite_$1.json"
}
f24=$(suite 24)
"$bin" suite run "$f24" --out "$tmp/s24" --nproc-per-run 2 --no-report >"$tmp/s24.log" 2>&1 || { fail "suite --nproc-per-run 2"; tail -5 "$tmp/s24.log"; }
if out=$(compare "$tmp/s24/runs/gated/seed0/run.json" "$tmp/two/run.json" 0); then echo "ok   suite --nproc-per-run 2 equals the direct 2-rank run: $out"
else fail "suite --nproc-per-run 2 vs direct: $out"; fi
f200=$(suite 200)
"$bin" suite run "$f200" --out "$tmp/s200" --nproc-per-run 2 --no-report >"$tmp/s200.log" 2>&1 &
runner=$!
log="$tmp/s200/runs/gated/seed0/train.log"
for _ in $(seq 1 600); do grep -q "^step " "$log" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$(pgrep -f "skipbench train .*--out $tmp/s200" | sort -n | tail -1)"
wait "$runner"; rc=$?
[[ $rc -eq 1 && ! -f "$tmp/s200/runs/gated/seed0/failed.json" && -f "$tmp/s200/runs/gated/seed0/checkpoint/state.json" ]] \
  && grep -q "stopped gated seed 0" "$tmp/s200.log" && echo "ok   a rank stopped by a signal: the suite's run is pending, checkpointed" \
  || { fail "suite rank stop: rc=$rc"; tail -5 "$tmp/s200.log"; }
"$bin" suite run "$f200" --out "$tmp/s200" --nproc-per-run 2 --no-report >"$tmp/s200b.log" 2>&1 || { fail "suite resume"; tail -5 "$tmp/s200b.log"; }
if out=$(compare "$tmp/s200/runs/gated/seed0/run.json" "$tmp/whole/run.json" 0); then echo "ok   the resumed suite run equals the uninterrupted 2-rank run: $out"
else fail "suite resume vs whole: $out"; fi
sed 's/"train.threads": 1}/"train.threads": 1, "train.optimizer.default.lr": 1e30}/' "$f24" >"$tmp/suite_div.json"
"$bin" suite run "$tmp/suite_div.json" --out "$tmp/sdiv" --nproc-per-run 2 --no-report >"$tmp/sdiv.log" 2>&1
grep -q "FAILED gated seed 0: diverged" "$tmp/sdiv.log" && echo "ok   a diverged data-parallel run is reported as diverged" \
  || { fail "diverged under --nproc-per-run"; tail -3 "$tmp/sdiv.log"; }
out=$("$bin" suite run "$f24" --out "$tmp/s3" --nproc-per-run 3 --no-report 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"run gated seed 0: train.batch_size 8 is not a multiple of train.micro_batch_size (2) x --nproc-per-run (3)"* && ! -e "$tmp/s3" ]] \
  && echo "ok   --nproc-per-run 3 refused before training" || fail "nproc 3: rc=$rc $out"
out=$("$bin" suite run "$f24" --out "$tmp/s4" --nproc-per-run 2 --torchrun /nonexistent/torchrun --no-report 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"torchrun not found at '/nonexistent/torchrun'"* ]] && echo "ok   a missing torchrun refused" \
  || fail "missing torchrun: rc=$rc $out"
exit $((fails > 0))
