#!/usr/bin/env bash
# run_dp_ranks.sh: data parallel on this machine's CPU cores (issue 16's benchmark): the same run (same global
# batch, same tokens) as 1 process with 2 intra-op threads and as 2 torchrun ranks (Gloo, loopback) with 1 thread
# each, alternated REPEATS times; median training-step time of each (run.json timing.median_step_s, warm-up steps
# excluded by the trainer's own summary) and their ratio. Usage: bash profiling/bench/run_dp_ranks.sh [REPEATS]
# (from the repository root, with build/skipbench and data/default built; a quiet machine: it is a timing).
set -euo pipefail
repeats="${1:-3}"
bin=build/skipbench
torchrun=.venv/bin/torchrun
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
S=(--config configs/tiny.json --set model.dim=128 --set model.n_layers=4 --set model.max_seq_len=128
   --set train.batch_size=16 --set train.micro_batch_size=4 --set train.steps=30 --set train.val_every=0
   --set train.val_max_batches=2 --set variant.name=dense)
for i in $(seq 1 "$repeats"); do
  OMP_NUM_THREADS=2 "$bin" train "${S[@]}" --set train.threads=2 --out "$tmp/one_$i" >/dev/null 2>&1
  OMP_NUM_THREADS=1 "$torchrun" --standalone --nproc-per-node 2 --no-python "$bin" train "${S[@]}" \
    --set train.threads=1 --out "$tmp/two_$i" >/dev/null 2>&1
done
python3 - "$tmp" "$repeats" <<'PY'
import json, statistics, sys
tmp, n = sys.argv[1], int(sys.argv[2])
def med(kind):
    return [json.load(open(f"{tmp}/{kind}_{i}/run.json"))["timing"]["median_step_s"] for i in range(1, n + 1)]
one, two = med("one"), med("two")
print("1 process x 2 threads, median step s per repeat:", [round(x, 4) for x in one])
print("2 ranks x 1 thread,   median step s per repeat:", [round(x, 4) for x in two])
print(f"ratio 2 ranks / 1 process (medians over repeats): {statistics.median(two) / statistics.median(one):.3f}")
PY
