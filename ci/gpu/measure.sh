#!/usr/bin/env bash
# ci/gpu/measure.sh OUT: the one prepared run on the GPU machine (issue 11), everything into the folder OUT
# (the device tool's $OUT), at most ~8 minutes on an H200. Each step has its own time limit and logs to
# OUT/<step>.log; OUT/steps.txt lists every step's exit code and seconds, so a failed step costs only its limit.
#   0. fail fast: no CUDA device visible to the machine's torch -> exit 3 with one line (so a dry run on a CPU
#      machine stops here); the carried binaries (.carry/, from ci/gpu/pack.sh) must run, else the fallback
#      builds there (ci/gpu/build_and_test.sh, which needs .debs/)
#   1. the GPU-only tests (the trainer's step without host syncs, SDPA kernels under bf16, pinned copies, CUPTI)
#   2. configs/paper-12l.json throughput, dense and gated, per attention path (profiling/bench/run_throughput.py)
#   3. the released code's training step as released, same GPU, same run (reference_throughput.py; .reference/)
#   4. real skipping, inference and training-time, uniform and mixed patterns (skipbench_bench_hard_skip --device cuda)
#   5. a CUPTI profile of a gated paper-12l training step (per-layer forward/backward kernel time, attribution)
#   6. ncu: only its version and one short query, skipped fast where counters are unreadable
# Usage (device tool): run(command="bash ci/gpu/measure.sh $OUT", carry=[".carry", ".reference"], timeout_s=560)
# Dry run on a CPU machine: SKIPBENCH_MEASURE_DRY=1 TORCH_PYTHON=.venv/bin/python bash ci/gpu/measure.sh /tmp/m
# runs every step on tiny CPU shapes (checks the plumbing, measures nothing).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="${1:?usage: ci/gpu/measure.sh OUTDIR}"
mkdir -p "$out"
PY="${TORCH_PYTHON:-/opt/torch/.venv/bin/python3}"
[[ -x "$PY" ]] || PY=$(command -v python3)
torchlib=$("$PY" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null) || {
  echo "measure: $PY has no torch: nothing to measure" | tee "$out/steps.txt"; exit 3; }
dry="${SKIPBENCH_MEASURE_DRY:-}"
if [[ -z "$dry" ]] && ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "measure: no CUDA device visible to $PY (torch $("$PY" -c 'import torch; print(torch.__version__)')): this script measures a GPU; stopping" | tee "$out/steps.txt"
  exit 3
fi
export LD_LIBRARY_PATH="$root/.carry/lib:$torchlib:${LD_LIBRARY_PATH:-}"
export OMP_NUM_THREADS=8
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || true
cp .carry/MANIFEST "$out/carry-manifest.txt" 2>/dev/null || true
step() {  # name, seconds, command...
  local name="$1" limit="$2"; shift 2
  local t0; t0=$(date +%s)
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "$name rc=$rc $(( $(date +%s) - t0 ))s (limit ${limit}s)" | tee -a "$out/steps.txt"
  return $rc
}
bin=.carry/bin
test_bin=.carry/bin/skipbench_tests
if ! LD_LIBRARY_PATH="$LD_LIBRARY_PATH" "$bin/skipbench" variants >/dev/null 2>"$out/carry-check.log"; then
  echo "measure: the carried binaries do not run here ($(head -c 200 "$out/carry-check.log")); building instead" | tee -a "$out/steps.txt"
  step build 300 env BUILD_DIR=build-gpu TORCH_PYTHON="$PY" bash ci/gpu/build_and_test.sh -R NONE || exit 4
  bin=build-gpu test_bin=build-gpu/tests/skipbench_tests
fi
mkdir -p data && { [[ -d data/default ]] || cp -r .carry/data/default data/ 2>/dev/null; }
"$bin/skipbench" --version >"$out/version.txt" 2>&1 || true

# 1. GPU-only tests
step gpu_tests 60 "$test_bin" --gtest_filter='GpuStep.*:CuptiTracer.*' --gtest_output="json:$out/gpu_tests.json"
# 2. skipbench throughput on the paper's model (dense and gated x math, sdpa, sdpa_mask), MFU, memory, kernel
tp=(--steps 6 --warmup 2); ref=(--steps 6 --warmup 2); hs=(--device cuda --rounds 7); prof=(--steps 4 --warmup 2)
if [[ -n "$dry" ]]; then
  tp=(--smoke); ref=(--smoke --device cpu); hs=(--device cpu --rounds 1 --filter tiny-T128/uniform/0.50)
  prof=(--steps 1 --warmup 1 --set model.n_layers=2 --set model.dim=64 --set model.n_heads=4 --set model.max_seq_len=64
        --set train.micro_batch_size=2 --set train.batch_size=2 --set train.precision=fp32 --set train.device=cpu)
fi
step throughput 150 "$PY" profiling/bench/run_throughput.py --skipbench "$bin/skipbench" --out "$out/throughput" \
  "${tp[@]}" --results "$out/RESULTS-gpu.md"
# 3. the released code, as released, on the same GPU
if [[ -d .reference/skip-middle ]]; then
  step reference 110 "$PY" profiling/bench/reference_throughput.py --reference-dir .reference/skip-middle \
    --modes as_released "${ref[@]}" --out "$out/reference.json" --timeout 50
else
  echo "reference skipped: no .reference/skip-middle carried" | tee -a "$out/steps.txt"
fi
# 4. real skipping (inference and training), uniform and mixed, sparsity 0 .. 0.75
step hard_skip 80 "$PY" profiling/bench/run_hard_skip.py --bin "$bin/skipbench_bench_hard_skip" "${hs[@]}" \
  --json "$out/hard_skip_gpu.json" --results "$out/RESULTS-gpu.md"
# 5. CUPTI profile of the gated training step (synthetic tokens of the paper's vocabulary, from step 2)
synth=$(ls -d "$out"/throughput/data-* 2>/dev/null | head -1)
[[ -n "$synth" ]] || { "$bin/skipbench" data synth --out "$out/synth" --vocab 50257 --copy-frac 0 \
  --train-tokens 600000 --val-tokens 70000 >/dev/null 2>&1; synth="$out/synth"; }
step profile 50 "$bin/skipbench" profile --config configs/paper-12l.json --set variant.name=skip_middle \
  --set "data.train=$synth/train_*.bin" --set "data.val=$synth/val_*.bin" "${prof[@]}" --out "$out/profile"
# 6. ncu, skipped fast
if command -v ncu >/dev/null; then
  step ncu 30 ncu --version
else
  echo "ncu skipped: not installed" | tee -a "$out/steps.txt"
fi
echo "measure: done; results in $out (steps.txt, RESULTS-gpu.md, *.json)"
