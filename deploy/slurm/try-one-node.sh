#!/usr/bin/env bash
# Runs deploy/slurm/layerchop-silos.sbatch on a one-node Slurm cluster started here by hand (Debian's
# slurm-wlm and munge; no systemd needed), as root, against the PostgreSQL of deploy/postgres.sh, and checks
# that the job's silo joins the LayerChop cluster at the node's address and leaves it when the job is
# cancelled. The silo runs one CPU slot (no GPU needed).
#
#   deploy/slurm/try-one-node.sh [DIR]   DIR (default /tmp/layerchop-slurm) holds slurm.conf, state and logs
#
# Needs: the solution built (dotnet build LayerChop.sln -c Release), PostgreSQL (deploy/postgres.sh start,
# or $LAYERCHOP_PG), and `apt-get install -y slurm-wlm munge` (done here when missing). It stops the Slurm
# and munge daemons it started when it ends.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
dir=${1:-/tmp/layerchop-slurm}
say() { echo "try-one-node: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root (it starts munged, slurmctld and slurmd)"
dll="$root/src/Client/bin/Release/net10.0/layerchop.dll"
[ -f "$dll" ] || die "$dll is missing: dotnet build LayerChop.sln -c Release"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge from Debian's packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
fi
connection=${LAYERCHOP_PG:-$(deploy/postgres.sh start)}

rm -rf "$dir" && mkdir -p "$dir/state" "$dir/spool" "$dir/munge"
chown munge:munge "$dir/munge"
node=$(hostname -s)
cat > "$dir/slurm.conf" <<CONF
ClusterName=layerchop-try
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
ReturnToService=2
KillWait=60
NodeName=$node CPUs=$(nproc) State=UNKNOWN
PartitionName=try Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"

started=()
stop_all() {
  for pidfile in "${started[@]}"; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
}
trap stop_all EXIT

runuser -u munge -- munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
started+=("$dir/munge/munged.pid")
slurmctld -f "$dir/slurm.conf"; started+=("$dir/slurmctld.pid")
slurmd -f "$dir/slurm.conf"; started+=("$dir/slurmd.pid")
for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle || die "the node did not become idle: $(sinfo 2>&1 | tail -n 2); see $dir/slurmd.log"
say "slurm: $(sinfo -h -o '%P %D node(s) %T')"

cluster_id="slurm-try-$$"
job=$(LAYERCHOP_BIN="dotnet $dll" LAYERCHOP_CLUSTER="$connection" LAYERCHOP_CLUSTER_ID="$cluster_id" \
      LAYERCHOP_GPUS=0 LAYERCHOP_CPU_SLOTS=1 LAYERCHOP_SILO_CONFIG= \
      sbatch --parsable --nodes=1 --output="$dir/job-%j.out" deploy/slurm/layerchop-silos.sbatch)
say "submitted job $job"

slots() { dotnet "$dll" slots --cluster "$connection" --cluster-id "$cluster_id" --connect-timeout 5 2>&1 || true; }
joined=""
for _ in $(seq 90); do
  out=$(slots)
  if grep -q "CPU slot" <<<"$out"; then joined="$out"; break; fi
  sleep 2
done
[ -n "$joined" ] || die "no silo of job $job joined cluster $cluster_id; job output: $(cat "$dir/job-$job.out" 2>/dev/null)"
say "joined: $(tail -n 1 <<<"$joined")"
address=$(grep -o 'advertises [0-9.]*' "$dir/job-$job.out" | awk '{ print $2 }')
grep -q "^$address:" <<<"$(tail -n 1 <<<"$joined")" || die "the silo does not advertise the node's address $address"

# scancel sends SIGTERM to the step; a silo that stops by itself ends the job well before KillWait (60 s here).
cancelled=$(date +%s)
scancel "$job"
for _ in $(seq 90); do squeue -h -j "$job" 2>/dev/null | grep -q . || break; sleep 1; done
seconds=$(( $(date +%s) - cancelled ))
say "job $job ended $seconds s after scancel: $(scontrol show job "$job" -o 2>/dev/null | grep -o 'JobState=[A-Z]*' || echo 'JobState unknown')"
[ "$seconds" -lt 60 ] || die "the silo did not stop on SIGTERM within KillWait (60 s)"
after=$(slots)
if grep -q "CPU slot" <<<"$after"; then die "the silo is still in the cluster after scancel"; fi
say "after scancel no silo of cluster $cluster_id answers"
say "job output:"; sed 's/^/  /' "$dir/job-$job.out" >&2
say "ok"
