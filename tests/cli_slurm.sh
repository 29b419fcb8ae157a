#!/usr/bin/env bash
# cli_slurm.sh: stopping by signal and suites as Slurm job arrays, without a Slurm cluster.
#   1. `skipbench train` sent SIGUSR1 mid-run checkpoints after its step in progress and exits 75; the same command
#      resumes it, and its loss curve equals an uninterrupted run's bit for bit.
#   2. `skipbench suite slurm` writes one sbatch array (tasks.tsv, submit.sh); every array task, run the way
#      sbatch would (bash with SLURM_ARRAY_TASK_ID / SLURM_ARRAY_JOB_ID set, scontrol stubbed on PATH), trains
#      its (run, seed); a task signalled with USR1 (sbatch --signal) checkpoints and requeues itself only; the
#      requeued task resumes; a finished task is never re-run; status and report work on the result, whose curves
#      equal a local `suite run` of the same file.
#   3. Bad input: --task out of range, --gpus-per-run 2, a suite file changed under the output directory.
# Usage: cli_slurm.sh path/to/skipbench   (run from the repository root, with data/default built)
set -u
bin="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMP_NUM_THREADS=1
small=(--set model.dim=32 --set model.n_layers=2 --set model.max_seq_len=32 --set train.batch_size=4
       --set train.micro_batch_size=4 --set train.val_every=0 --set train.val_max_batches=2 --set train.threads=1
       --set train.checkpoint_every=1000)
curve() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["train_curve"]["loss"])' "$1"; }

# --- 1. a signal checkpoints and stops; the resume is bit-identical
"$bin" train --config configs/tiny.json "${small[@]}" --set train.steps=60 --out "$tmp/whole" >/dev/null 2>&1 \
  || fail "uninterrupted run"
"$bin" train --config configs/tiny.json "${small[@]}" --set train.steps=60 --out "$tmp/sig" >"$tmp/o" 2>"$tmp/e" &
pid=$!
for _ in $(seq 1 300); do grep -q "^step " "$tmp/e" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$pid"
wait "$pid"; rc=$?
if [[ $rc -ne 75 ]] || ! grep -q "stopped by a signal after step" "$tmp/e" || [[ ! -f "$tmp/sig/checkpoint/state.json" ]] \
   || [[ -f "$tmp/sig/run.json" ]]; then
  fail "SIGUSR1: rc=$rc (want 75)"; tail -3 "$tmp/e"
else
  step=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["step"])' "$tmp/sig/checkpoint/state.json")
  echo "ok   SIGUSR1 mid-run: exit 75, checkpointed after step $step (checkpoint_every 1000)"
  "$bin" train --config configs/tiny.json "${small[@]}" --set train.steps=60 --out "$tmp/sig" >/dev/null 2>&1 || fail "resume"
  [[ "$(curve "$tmp/sig/run.json")" == "$(curve "$tmp/whole/run.json")" ]] && echo "ok   resumed curve bit-identical" \
    || fail "resumed curve differs"
fi

# --- 2. a suite as a Slurm job array
spec="$tmp/s.json"
cat >"$spec" <<'EOF'
{"name": "sl", "base": "configs/tiny.json",
 "set": {"model.dim": 32, "model.n_layers": 2, "model.max_seq_len": 32, "train.batch_size": 4,
         "train.micro_batch_size": 4, "train.val_every": 0, "train.val_max_batches": 2, "train.threads": 1},
 "budget": {"kind": "steps", "value": 40}, "seeds": [0, 1], "checkpoint_every": 1000,
 "groups": [{"name": "d", "variant": "dense"}, {"name": "g", "variant": "skip_middle"}]}
EOF
"$bin" suite slurm "$spec" --out "$tmp/sl" --partition cpu --time 00:10:00 --max-concurrent 2 >"$tmp/o" 2>&1 \
  || { fail "suite slurm"; cat "$tmp/o"; }
sb="$tmp/sl/slurm/array_0.sbatch"
for want in "#SBATCH --array=0-3%2" "#SBATCH --partition=cpu" "#SBATCH --time=00:10:00" "#SBATCH --requeue" \
            "#SBATCH --signal=B:USR1@120" "--task \"\$task\""; do
  grep -qF -- "$want" "$sb" || fail "array_0.sbatch lacks: $want"
done
[[ $(wc -l <"$tmp/sl/slurm/tasks.tsv") -eq 5 ]] || fail "tasks.tsv: want a header and 4 tasks"
grep -q "sbatch '$sb'" "$tmp/sl/slurm/submit.sh" || fail "submit.sh does not submit $sb"
mkdir -p "$tmp/stub"
printf '#!/usr/bin/env bash\necho "$*" >> %q\n' "$tmp/requeued" >"$tmp/stub/scontrol"
chmod +x "$tmp/stub/scontrol"
task() { SLURM_ARRAY_JOB_ID=7 SLURM_ARRAY_TASK_ID="$1" PATH="$tmp/stub:$PATH" bash "$sb"; }
# task 1 is stopped by sbatch's USR1 (to the batch shell only) once its trainer has started
SLURM_ARRAY_JOB_ID=7 SLURM_ARRAY_TASK_ID=1 PATH="$tmp/stub:$PATH" bash "$sb" >"$tmp/t1" 2>&1 &
shell=$!
log1="$tmp/sl/$(awk -F'\t' '$1 == 1 {print $4}' "$tmp/sl/slurm/tasks.tsv")/train.log"
for _ in $(seq 1 300); do grep -q "^step " "$log1" 2>/dev/null && break; sleep 0.1; done
kill -USR1 "$shell"
wait "$shell"; rc=$?
if [[ $rc -ne 0 ]] || ! grep -qx "requeue 7_1" "$tmp/requeued" 2>/dev/null || [[ -f "${log1%/train.log}/run.json" ]] \
   || [[ ! -f "${log1%/train.log}/checkpoint/state.json" ]]; then
  fail "USR1 to task 1: rc=$rc, requeued: $(cat "$tmp/requeued" 2>/dev/null)"; tail -5 "$tmp/t1"
else
  echo "ok   USR1 to array task 1: checkpointed, requeued 7_1 only"
fi
for i in 0 1 2 3; do task "$i" >"$tmp/t$i" 2>&1 || { fail "task $i: exit $?"; tail -3 "$tmp/t$i"; }; done
grep -q "resuming after step" "$log1" || fail "the requeued task did not resume from its checkpoint"
task 0 >"$tmp/again" 2>&1 || fail "re-running a finished task"
grep -q "1 done" "$tmp/again" || { fail "a finished task re-ran"; cat "$tmp/again"; }
[[ $(wc -l <"$tmp/requeued") -eq 1 ]] || fail "only task 1 may requeue: $(cat "$tmp/requeued")"
"$bin" suite status "$tmp/sl" >"$tmp/st" 2>&1
grep -q "4 done" "$tmp/st" && echo "ok   all 4 array tasks done" || { fail "status"; cat "$tmp/st"; }
"$bin" suite run "$spec" --out "$tmp/local" --jobs 2 --no-report >/dev/null 2>&1 || fail "local suite run"
for d in "$tmp"/local/runs/*/seed*; do
  rel="${d#"$tmp"/local/}"
  [[ "$(curve "$d/run.json")" == "$(curve "$tmp/sl/$rel/run.json")" ]] || fail "$rel: array task curve differs from local"
done
echo "ok   array tasks' curves equal a local suite run's"
"$bin" report "$tmp/sl" >/dev/null 2>&1 || fail "report on the array's output"

# --- 3. bad input
out=$("$bin" suite run "$spec" --out "$tmp/sl" --task 9 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"--task 9: the suite has 4 (run, seed) tasks"* ]] && echo "ok   --task out of range" \
  || fail "--task 9: rc=$rc $out"
out=$("$bin" suite slurm "$spec" --out "$tmp/sl2" --gpus-per-run 2 2>&1); rc=$?
[[ $rc -eq 2 && "$out" == *"--gpus-per-run 2: a task trains one process"* ]] && echo "ok   --gpus-per-run 2 refused" \
  || fail "--gpus-per-run 2: rc=$rc $out"
sed -i 's/"value": 40/"value": 41/' "$spec"
out=$(task 0 2>&1); rc=$?
[[ $rc -ne 0 && "$out" == *"holds this suite with another budget"* ]] && echo "ok   a changed suite file is refused by its tasks" \
  || fail "changed suite: rc=$rc $out"
exit $((fails > 0))
