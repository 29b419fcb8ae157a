#!/usr/bin/env bash
# cli_slurm_cluster.sh: `skipbench suite slurm` on a real Slurm (slurmctld + slurmd + munge, a private one-node
# cluster started by ci/slurm_cluster.sh). Skipped (exit 77) with the reason when no cluster can run here.
#   1. A 4-task suite submitted as a job array (%2) with submit.sh: every task completes, `suite status` says done,
#      and every run's train curve equals a local `suite run` of the same file bit for bit.
#   2. A task requeued by the cluster mid-run (`scontrol requeue`, as preemption does) checkpoints on the SIGTERM
#      and, started again by Slurm (about 2 minutes later: slurmctld's requeue delay), resumes from its checkpoint;
#      its curve equals an uninterrupted local run's.
#   3. A task sent USR1 mid-run (what --signal=B:USR1@120 does before the time limit) checkpoints and requeues
#      itself; it resumes and its curve equals an uninterrupted run's.
#   4. A task cancelled with scancel stays cancelled (not requeued) and keeps its checkpoint for a later resume.
# About 3-4 minutes, most of it waiting for the requeue delay. Usage: cli_slurm_cluster.sh path/to/skipbench
# (run from the repository root, with data/default built)
set -u
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root="$(pwd)"
tmp=$(mktemp -d)
cluster="$tmp/cluster"
out=$(bash ci/slurm_cluster.sh start "$cluster"); rc=$?
if [[ $rc -ne 0 ]]; then rm -rf "$tmp"; echo "SKIP: no Slurm cluster here (see above)"; exit 77; fi
eval "$out"  # SLURM_CONF
trap 'scancel --user root >/dev/null 2>&1; bash "$root/ci/slurm_cluster.sh" stop "$cluster"; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
export OMP_NUM_THREADS=1
curve() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["train_curve"]["loss"])' "$1"; }
jobs_left() { squeue -h -j "$1" 2>/dev/null | wc -l; }
wait_jobs() {  # job id, seconds: until no task of the job is queued or running
  for _ in $(seq 1 "$2"); do [[ $(jobs_left "$1") -eq 0 ]] && return 0; sleep 1; done
  return 1
}
wait_step() {  # train.log, seconds: until the trainer has logged a step
  for _ in $(seq 1 "$(($2 * 10))"); do grep -q "^step " "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
spec() {  # name steps seeds groups
  cat >"$tmp/$1.json" <<EOF
{"name": "$1", "base": "configs/tiny.json",
 "set": {"model.dim": 32, "model.n_layers": 2, "model.max_seq_len": 32, "train.batch_size": 4,
         "train.micro_batch_size": 4, "train.val_every": 0, "train.val_max_batches": 2, "train.threads": 1,
         "train.log_every": 10},
 "budget": {"kind": "steps", "value": $2}, "seeds": $3, "checkpoint_every": 1000, "groups": $4}
EOF
  echo "$tmp/$1.json"
}
submit() {  # suite file, out dir -> array job id
  "$bin" suite slurm "$1" --out "$2" --partition debug --cpus-per-task 1 --max-concurrent 2 >/dev/null 2>&1 || return 1
  sbatch --parsable "$2/slurm/array_0.sbatch"
}

# --- 1. a suite as a job array, against a local run
a=$(spec arr 40 "[0, 1]" '[{"name": "d", "variant": "dense"}, {"name": "g", "variant": "skip_middle"}]')
job=$(submit "$a" "$tmp/arr") || fail "submit the array"
"$bin" suite run "$a" --out "$tmp/arr_local" --jobs 1 --no-report >/dev/null 2>&1 || fail "local suite run"
if wait_jobs "$job" 240; then
  st=$("$bin" suite status "$tmp/arr" 2>&1)
  [[ $(grep -cE '^[^ ]+ +[0-9]+ +done' <<<"$st") -eq 4 ]] && echo "ok   array job $job: 4 tasks done on the cluster" || fail "status: $st"
  same=0
  for d in "$tmp"/arr_local/runs/*/seed*; do
    rel=${d#"$tmp/arr_local/"}
    [[ -f "$tmp/arr/$rel/run.json" && "$(curve "$tmp/arr/$rel/run.json")" == "$(curve "$d/run.json")" ]] && same=$((same + 1))
  done
  [[ $same -eq 4 ]] && echo "ok   every run's curve equals the local suite run's" || fail "$same of 4 curves equal the local run's"
else
  fail "array job $job still queued after 240 s"; squeue
fi

# --- 2-4. requeue, USR1, scancel mid-run
long=$(spec long 3000 "[0]" '[{"name": "d", "variant": "dense"}]')
"$bin" suite run "$long" --out "$tmp/long_local" --no-report >/dev/null 2>&1 &
local_pid=$!
rq=$(submit "$long" "$tmp/rq") && us=$(submit "$long" "$tmp/us") || fail "submit the long runs"
log() { echo "$tmp/$1/runs/d/seed0/train.log"; }
if wait_step "$(log rq)" 60 && wait_step "$(log us)" 60; then
  scontrol requeue "${rq}_0" || fail "scontrol requeue"
  scancel --batch --signal=USR1 "${us}_0" || fail "scancel --signal=USR1"
  sleep 5
  [[ "$(squeue -h -j "${rq}_0" -o %T)" == PENDING ]] && echo "ok   requeued by the cluster: pending again" || fail "requeue: $(squeue -h -j "${rq}_0")"
  [[ "$(squeue -h -j "${us}_0" -o %T)" == PENDING ]] && echo "ok   USR1: the task requeued itself" || fail "USR1: $(squeue -h -j "${us}_0")"
  for r in rq us; do
    [[ -f "$tmp/$r/runs/d/seed0/checkpoint/state.json" ]] || fail "$r: no checkpoint after the signal"
  done
else
  fail "the long runs did not start within 60 s"; squeue
fi
# scancel: not requeued
cx=$(submit "$long" "$tmp/cx") || fail "submit"
if wait_step "$(log cx)" 60; then
  scancel "${cx}_0"
  sleep 5
  [[ $(jobs_left "$cx") -eq 0 ]] && echo "ok   scancel: the task stays cancelled" || fail "scancel requeued it: $(squeue -h -j "$cx")"
  [[ -f "$tmp/cx/runs/d/seed0/checkpoint/state.json" && ! -f "$tmp/cx/runs/d/seed0/run.json" ]] \
    && echo "ok   scancel: checkpointed, resumable" || fail "scancel: no checkpoint"
else
  fail "the scancel run did not start within 60 s"
fi
wait "$local_pid" || fail "local long run"
for r in rq us; do
  j=$([[ $r == rq ]] && echo "$rq" || echo "$us")
  if wait_jobs "$j" 300; then
    grep -q "resuming after step" "$(log $r)" || fail "$r: train.log shows no resume"
    [[ -f "$tmp/$r/runs/d/seed0/run.json" && "$(curve "$tmp/$r/runs/d/seed0/run.json")" == "$(curve "$tmp/long_local/runs/d/seed0/run.json")" ]] \
      && echo "ok   $r: resumed after the requeue; its curve equals the uninterrupted run's" || fail "$r: curve differs or no run.json"
  else
    fail "$r: job $j still queued after 300 s"; squeue
  fi
done
exit $((fails > 0))
