#!/usr/bin/env bash
# run_dp_buckets.sh: does starting the gradients' all-reduce during the backward (train.grad_bucket_mb, DDP-style
# buckets; harness/train/grad_buckets.h) pay on this machine? The same 2-rank torchrun run (Gloo, loopback, 1 intra-op
# thread per rank) with one flat all-reduce after the backward and with buckets of each size given, alternated
# REPEATS times; median training-step time of each (run.json timing.median_step_s: the trainer's own summary,
# warm-up excluded) and each one's ratio to the flat run's. The losses must agree bitwise (2 ranks: a + b either
# way): the script checks it, so a speed-up is never bought with another result.
# Usage: bash profiling/bench/run_dp_buckets.sh [REPEATS] [DIM] [BUCKET_MB...]   (defaults: 3 128 1 4)
# From the repository root, with build/skipbench and data/default built, on a quiet machine (it is a timing).
set -euo pipefail
repeats="${1:-3}"; dim="${2:-128}"; shift $(( $# >= 2 ? 2 : $# ))
sizes=("$@"); ((${#sizes[@]})) || sizes=(1 4)
bin=build/skipbench
torchrun=.venv/bin/torchrun
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
S=(--config configs/tiny.json --set model.dim="$dim" --set model.n_layers=4 --set model.max_seq_len=128
   --set train.batch_size=16 --set train.micro_batch_size=4 --set train.steps=30 --set train.val_every=0
   --set train.val_max_batches=2 --set variant.name=dense --set train.threads=1)
port=$((29900 + RANDOM % 60))
for i in $(seq 1 "$repeats"); do
  for mb in 0 "${sizes[@]}"; do
    port=$((port + 1))
    OMP_NUM_THREADS=1 "$torchrun" --nnodes 1 --nproc-per-node 2 --rdzv-backend c10d --rdzv-endpoint "127.0.0.1:$port" \
      --no-python "$bin" train "${S[@]}" --set train.grad_bucket_mb="$mb" --out "$tmp/b${mb}_$i" >"$tmp/log" 2>&1 \
      || { tail -5 "$tmp/log"; exit 1; }
  done
done
python3 - "$tmp" "$repeats" "$dim" 0 "${sizes[@]}" <<'PY'
import json, statistics, sys
tmp, n, dim, sizes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
runs = {mb: [json.load(open(f"{tmp}/b{mb}_{i}/run.json")) for i in range(1, n + 1)] for mb in sizes}
flat = runs["0"]
for mb, rs in runs.items():
    for a, b in zip(flat, rs):
        assert a["train_curve"]["loss"] == b["train_curve"]["loss"], f"bucket {mb} MiB: losses differ from flat"
params = flat[0]["model"]["parameters"]
print(f"dense, dim {dim}, 4 layers, {params:,} parameters ({params * 4 / 2**20:.1f} MiB of fp32 gradients), "
      f"2 ranks x 1 thread, {n} repeats; losses equal bitwise to the flat run's")
base = statistics.median(r["timing"]["median_step_s"] for r in flat)
for mb, rs in runs.items():
    med = [r["timing"]["median_step_s"] for r in rs]
    g = rs[0]["distributed"]["gradient_all_reduce"]
    what = "flat all-reduce after the backward" if mb == "0" else \
        f"buckets of {mb} MiB ({g['buckets']}, {g['started_in_backward_last_step']} started during the backward)"
    print(f"{what}: median step s per repeat {[round(x, 4) for x in med]}; "
          f"ratio to flat {statistics.median(med) / base:.3f}")
PY
