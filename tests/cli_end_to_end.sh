#!/usr/bin/env bash
# cli_end_to_end.sh: the user's path through the CLI: build the embedded data, list variants, estimate FLOPs,
# train a dense and a gated run for a few steps, and check both reports.
# Usage: cli_end_to_end.sh path/to/skipbench   (run from the repository root)
set -euo pipefail
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src="${SKIPBENCH_FORTUNES_DIR:-/usr/share/games/fortunes}"
if [[ ! -d "$src" ]]; then echo "fortunes not found at $src: run bash ci/setup.sh (or set SKIPBENCH_FORTUNES_DIR)"; exit 1; fi
"$bin" data embed --out "$tmp/data"
"$bin" variants | python3 -c 'import json,sys; d=json.load(sys.stdin); n={v["name"] for v in d["variants"]}; assert {"dense","skip_middle"} <= n, n; assert {"none","sparsity"} <= {c["name"] for c in d["controllers"]}'
"$bin" flops --config configs/paper-12l.json --set variant.name=dense --mode reference \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["forward_per_sequence"] == 626071654400, d'
"$bin" flops --config configs/paper-12l.json --mode standard --sparsity 0.5 \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); assert abs(d["mean_sparsity"]-0.5) < 1e-12 and d["training_per_token"] < 1e9, d'
# `flops` counts a policy's own modules as run.json does: MoD at dim 768, 12 layers routes blocks 1, 3, .., 11 (6),
# each with a 768 -> 1 router and a 768 -> 96 -> 1 predictor: 2 x (768 + 768 x 96 + 96) FLOPs a token each, forward;
# a dense model has none, and at sparsity 0 the rest of the estimate is the same
"$bin" flops --config configs/paper-12l.json --set variant.name=dense --mode standard >"$tmp/flops_dense.json"
"$bin" flops --config configs/paper-12l.json --set variant.name=mod --mode standard >"$tmp/flops_mod.json"
python3 - "$tmp/flops_dense.json" "$tmp/flops_mod.json" <<'PY'
import json, sys
d, m = (json.load(open(p)) for p in sys.argv[1:3])
policy = 6 * 2 * (768 + 768 * 96 + 96)
assert "policy" not in d["components_per_sequence"], d
assert m["components_per_sequence"]["policy"] == policy * 1024, m
assert m["forward_per_token"] - d["forward_per_token"] == policy, (m, d)
assert m["training_per_token"] - d["training_per_token"] == 3 * policy, (m, d)
PY
small=(--set model.dim=32 --set model.n_layers=4 --set model.max_seq_len=32 --set train.batch_size=4
       --set train.micro_batch_size=2 --set train.steps=4 --set train.val_every=2 --set train.val_max_batches=4
       --set "data.train=$tmp/data/train_*.bin" --set "data.val=$tmp/data/val_*.bin")
for v in dense skip_middle; do
  "$bin" train --config configs/tiny.json "${small[@]}" --set variant.name=$v --out "$tmp/run_$v"
  python3 - "$tmp/run_$v" "$v" <<'PY'
import json, sys
d, v = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/run.json"))
assert r["schema"] == "skipbench.run" and r["status"] == "completed", r.get("status")
assert r["variant"]["name"] == v and r["config"]["model"]["n_layers"] == 4
assert r["val_curve"]["step"] == [2, 4], r["val_curve"]
assert len(r["train_curve"]["loss"]) == 4
for k in ("git", "versions", "hardware"): assert k in r["provenance"], k
assert r["flops"]["inference_at_val_sparsity"]["reference"]["forward_per_sequence"] > 0
lines = [json.loads(l) for l in open(f"{d}/metrics.jsonl")]
assert [l["step"] for l in lines if l["kind"] == "train"] == [0, 1, 2, 3]
assert sum(l["kind"] == "val" for l in lines) == 2
print(f"ok {v}: val_loss {r['final']['val_loss']:.4f}")
PY
done

# real skipping with repeated, interleaved timings (the claims engine's claim 6 evidence)
"$bin" eval --run "$tmp/run_skip_middle" --hard-skip --repeat 2 --max-batches 2 >/dev/null
python3 - "$tmp/run_skip_middle/eval_hard_skip.json" <<'PY'
import json, sys
e = json.load(open(sys.argv[1]))
r = e["repeats"]
assert e["mode"] == "hard_skip" and len(r["soft_s"]) == 2 and len(r["hard_s"]) == 2, r
assert all(x > 0 for x in r["soft_s"] + r["hard_s"]) and r["order"] == "soft, hard interleaved", r
print(f"ok eval --repeat: soft {r['soft_s']} hard {r['hard_s']}")
PY

# LayerDrop with early exit (issue 15's peers): trained with dropped rows really skipped, then every exit depth
"$bin" train --config configs/tiny.json "${small[@]}" --set variant.name=layerdrop --set variant.options.p_max=0.5 \
  --set variant.options.exit_scale=0.2 --set train.skip_compute=true --out "$tmp/run_ld" >/dev/null
"$bin" eval --run "$tmp/run_ld" --exits --repeat 2 --max-batches 2 >/dev/null
python3 - "$tmp/run_ld" <<'PY'
import json, sys
d = sys.argv[1]
r, e = json.load(open(f"{d}/run.json")), json.load(open(f"{d}/eval_exits.json"))
assert r["status"] == "completed" and r["variant"]["name"] == "layerdrop", r["status"]
lines = [json.loads(l) for l in open(f"{d}/metrics.jsonl") if '"train"' in l]
assert all("exit_loss" in l for l in lines), lines[0]
assert lines[-1]["gates"]["sparsity"] > 0, lines[-1]["gates"]  # realised drops
assert [x["depth"] for x in e["depths"]] == [1, 2, 3, 4] and all(len(x["seconds"]) == 2 for x in e["depths"])
f = [x["forward_flops_per_token"] for x in e["depths"]]
assert f == sorted(f) and f[0] < f[-1], f
print(f"ok layerdrop: exit losses {[round(x['loss'], 3) for x in e['depths']]}")
PY

# Mixture-of-Depths (issue 15's peers): top-k routing in training, validation also with the causal predictor
"$bin" train --config configs/tiny.json "${small[@]}" --set variant.name=mod --set variant.options.capacity=0.25 \
  --out "$tmp/run_mod" >/dev/null
"$bin" eval --run "$tmp/run_mod" --causal --max-batches 2 >/dev/null
"$bin" eval --run "$tmp/run_mod" --hard-skip --max-batches 2 >/dev/null
python3 - "$tmp/run_mod" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(f"{d}/run.json"))
c, h = json.load(open(f"{d}/eval_soft_causal.json")), json.load(open(f"{d}/eval_hard_skip.json"))
assert r["status"] == "completed" and "val_loss_causal" in r["final"], r["final"]
zf = r["gates"]["val"]["zero_fraction"]
assert zf[0] == 0 and abs(zf[1] - 0.75) < 1e-9 and zf[2] == 0 and abs(zf[3] - 0.75) < 1e-9, zf  # blocks 1, 3 routed
assert c["causal_routing"] is True and h["causal_routing"] is False
assert abs(h["computed_fraction"] - (2 + 2 * 0.25) / 4) < 1e-9, h["computed_fraction"]
print(f"ok mod: val {r['final']['val_loss']:.4f} causal {r['final']['val_loss_causal']:.4f}")
PY
check_causal_dense=$("$bin" eval --run "$tmp/run_dense" --causal --max-batches 1 2>&1 || true)
[[ "$check_causal_dense" == *"--causal: variant dense has no causal routing mode"* ]] || { echo "FAIL eval --causal on dense: $check_causal_dense"; exit 1; }

# static pruning of the trained dense run (issue 15's peers): 2 of its 4 blocks dropped, the result a run of its own
"$bin" prune --run "$tmp/run_dense" --drop 2 --method span --max-batches 2 --out "$tmp/pruned" >/dev/null
"$bin" eval --run "$tmp/pruned" --max-batches 2 >/dev/null
"$bin" prune --run "$tmp/run_dense" --drop 2 --blocks 2,1 --max-batches 1 --out "$tmp/pruned_given" >/dev/null
# healing: the same pruning, then 30 steps of fine-tuning from the pruned weights (OUT/healed, a run of its own)
"$bin" prune --run "$tmp/run_dense" --drop 2 --method span --max-batches 2 --out "$tmp/pruned_healed" \
  --heal-steps 30 --heal-lr-scale 0.5 >/dev/null 2>&1 || { echo "FAIL prune --heal-steps"; exit 1; }
"$bin" eval --run "$tmp/pruned_healed/healed" --max-batches 2 >/dev/null
python3 - "$tmp/pruned" "$tmp/pruned_healed" "$tmp/run_dense" <<'PY'
import json, sys
pruned, healed_dir, src = sys.argv[1:]
h = json.load(open(f"{healed_dir}/healed/run.json"))
p = json.load(open(f"{healed_dir}/prune.json"))
s = json.load(open(f"{src}/run.json"))
assert h["status"] == "completed" and h["final"]["steps"] == 30, (h["status"], h["final"])
assert h["model"]["init_from"] == healed_dir and h["model"]["initialised_fresh"] == [], h["model"]
assert h["config"]["model"]["n_layers"] == 2
assert p["healing"]["steps"] == 30 and p["healing"]["run"] == "healed", p["healing"]
lr = h["config"]["train"]["optimizer"]["default"]["lr"]
assert abs(lr - 0.5 * s["config"]["train"]["optimizer"]["default"]["lr"]) < 1e-12, lr
before = json.load(open(f"{pruned}/eval_soft.json"))["loss"]  # the same span pruned, not healed
after = json.load(open(f"{healed_dir}/healed/eval_soft.json"))["loss"]
assert after < before, (before, after)
print(f"ok prune --heal-steps 30: val loss {before:.4f} pruned -> {after:.4f} healed")
PY
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert p["dropped_blocks"] == [1, 2] and p["method"] == "blocks", p' \
  "$tmp/pruned_given/prune.json"
python3 - "$tmp/pruned" <<'PY'
import json, sys
d = sys.argv[1]
r, p, e = (json.load(open(f"{d}/{f}")) for f in ("run.json", "prune.json", "eval_soft.json"))
assert r["config"]["model"]["n_layers"] == 2 and r["pruned"]["n_layers_before"] == 4, r["config"]["model"]
assert len(p["dropped_blocks"]) == 2 and p["dropped_blocks"][1] == p["dropped_blocks"][0] + 1, p["dropped_blocks"]
assert len(p["redundancy"]["block_influence"]) == 4 and len(p["redundancy"]["angular_distance"]) == 4
assert e["loss"] > 0 and e["tokens"] > 0, e
print(f"ok prune: dropped {p['dropped_blocks']} (span), pruned val loss {e['loss']:.4f}")
PY

# the redundancy map of the trained dense run (issue 17's layer-ablation): JSON with every span, and its figures
"$bin" layer-ablation --run "$tmp/run_dense" --lengths 1,2 --max-batches 1 --out "$tmp/ablation" >/dev/null
python3 - "$tmp/ablation" <<'PY'
import json, os, sys
d = sys.argv[1]
r = json.load(open(f"{d}/layer_ablation.json"))
assert r["n_layers"] == 4 and len(r["spans"]) == 4 + 3, len(r["spans"])  # lengths 1, 2 at every start
assert all(s["loss"] > 0 for s in r["spans"]) and r["profiles"]["middle_out"][0]["start"] == 1
for f in ("heatmap", "profiles", "redundancy"):
    assert os.path.getsize(f"{d}/layer_ablation_{f}.png") > 10000, f
print(f"ok layer-ablation: base {r['base_loss']:.4f}, middle 2 blocks +{r['profiles']['middle_out'][0]['delta']:.4f}")
PY
out=$("$bin" layer-ablation --run "$tmp/run_dense" --lengths 4 --out "$tmp/ablation2" 2>&1 || true)
[[ "$out" == *"--lengths: each span length must be in 1..3"* ]] || { echo "FAIL layer-ablation --lengths 4: $out"; exit 1; }

# a truncated checkpoint: resuming fails with one line that blames the file, not the config, and says what to do
set +e
"$bin" train --config configs/tiny.json "${small[@]}" --set train.steps=400 --set train.checkpoint_every=2 --out "$tmp/ck" \
  >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do [[ -f "$tmp/ck/checkpoint/state.json" ]] && break; sleep 0.02; done
kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$tmp/ck/checkpoint/state.json")
truncate -s 100 "$tmp/ck/checkpoint/$model"
if [[ -f "$tmp/ck/checkpoint/state_prev.json" ]]; then  # else the resume falls back to the previous checkpoint
  prev=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$tmp/ck/checkpoint/state_prev.json")
  truncate -s 100 "$tmp/ck/checkpoint/$prev"
fi
"$bin" train --config configs/tiny.json "${small[@]}" --set train.steps=400 --set train.checkpoint_every=2 --out "$tmp/ck" \
  >/dev/null 2>"$tmp/e"
rc=$?
set -e
if [[ $rc -ne 2 ]] || ! grep -q "checkpoint/$model: this checkpoint file is unreadable (truncated or corrupt)\( (the previous checkpoint is unreadable too)\)\?; it cannot be resumed: remove .*/checkpoint to restart" "$tmp/e"; then
  echo "FAIL truncated checkpoint: rc=$rc"; cat "$tmp/e"; exit 1
fi
echo "ok truncated checkpoint: $(cut -c1-160 "$tmp/e")"
