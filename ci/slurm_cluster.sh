#!/usr/bin/env bash
# ci/slurm_cluster.sh: a private one-node Slurm cluster on this machine (Debian 12's slurm-wlm 22.05 and munge,
# installed by ci/setup.sh), for tests/cli_slurm_cluster.sh: everything (munge key and socket, slurm.conf, state,
# spool, logs, pid files) lives in one directory, on ports picked for it, so it touches no system configuration and
# two clusters (two CI clones) can run side by side. Needs root (slurmd launches the jobs; SlurmUser=root).
#   bash ci/slurm_cluster.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`; exit 77 with the reason when
#                                        # a cluster cannot run here (packages missing, not root, node not idle in 30 s)
#   bash ci/slurm_cluster.sh stop DIR    # stops slurmd, slurmctld and munged of DIR
# The cluster: one node (this host, every CPU, 20 GB), partition "debug" (default, no time limit), proctrack
# linuxproc and task/none (no cgroups, none needed for one node), no accounting database, MaxArraySize 1001.
set -uo pipefail
cmd="${1:?usage: slurm_cluster.sh start|stop DIR}"
dir="${2:?usage: slurm_cluster.sh start|stop DIR}"
skip() { echo "slurm_cluster: $*" >&2; exit 77; }

stop() {
  for p in slurmd slurmctld munged; do
    f="$dir/run/$p.pid"
    [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null
  done
  sleep 1
  for p in slurmd slurmctld munged; do
    f="$dir/run/$p.pid"
    [[ -f "$f" ]] && kill -9 "$(cat "$f")" 2>/dev/null
    rm -f "$f"
  done
  return 0
}

if [[ "$cmd" == stop ]]; then stop; exit 0; fi
[[ "$cmd" == start ]] || { echo "slurm_cluster: unknown command $cmd (start or stop)" >&2; exit 2; }

for b in munged mungekey slurmctld slurmd sbatch squeue scontrol; do
  command -v "$b" >/dev/null || skip "$b is missing (Debian packages slurm-wlm and munge; bash ci/setup.sh installs them)"
done
[[ $(id -u) -eq 0 ]] || skip "needs root (slurmd starts the jobs as their user); run the test as root"

mkdir -p "$dir"/{munge,state,spool,log,run}
dir="$(cd "$dir" && pwd)"
chmod 700 "$dir/munge"
if [[ ! -f "$dir/munge/munge.key" ]]; then
  mungekey -c -k "$dir/munge/munge.key" -b 1024 || skip "mungekey failed"
  chmod 400 "$dir/munge/munge.key"
fi
munged -f --socket="$dir/munge/munge.sock" --key-file="$dir/munge/munge.key" --log-file="$dir/munge/munged.log" \
  --pid-file="$dir/run/munged.pid" --seed-file="$dir/munge/munged.seed" || skip "munged did not start ($dir/munge/munged.log)"

host=$(hostname)
cpus=$(nproc)
base=$((20000 + RANDOM % 20000))  # slurmctld on base, slurmd on base + 1
cat >"$dir/slurm.conf" <<EOF
# written by ci/slurm_cluster.sh: a private one-node cluster for tests
ClusterName=skipbench
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
SlurmctldPort=$base
SlurmdPort=$((base + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MaxArraySize=1001
NodeName=$host CPUs=$cpus RealMemory=20000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -c >>"$dir/log/start.log" 2>&1 || { stop; skip "slurmctld did not start ($dir/log/slurmctld.log)"; }
slurmd >>"$dir/log/start.log" 2>&1 || { stop; skip "slurmd did not start ($dir/log/slurmd.log)"; }
for _ in $(seq 1 60); do
  [[ "$(sinfo -h -o %T 2>/dev/null)" == idle ]] && { echo "export SLURM_CONF=$SLURM_CONF"; exit 0; }
  sleep 0.5
done
state=$(sinfo -h -o %T 2>&1)
stop
skip "the node did not become idle in 30 s (sinfo: ${state:-nothing}; logs in $dir/log)"
