#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to run the workflow's slurm profile against a real
# scheduler (tests/test_slurm_cluster.py, `make cluster-test`). Debian's slurm-wlm 22.05 packages.
#
#   workflow/cluster/slurm-local.sh up      install (if missing), configure, start; wait for an idle node
#   workflow/cluster/slurm-local.sh down    stop the daemons (the packages and config stay)
#   workflow/cluster/slurm-local.sh status  sinfo of the node
#
# Idempotent: `up` on a running cluster only checks it. Needs root (apt-get, daemons in /run).
# Exit status 3: the Debian packages cannot be installed here (the cluster test then skips).
# The node is this host (NodeName = `hostname -s`) with the cores and memory slurmd detects;
# per-core scheduling (select/cons_tres, CR_Core_Memory). No slurmdbd (accounting_storage/none, so
# sacct answers nothing): job states come from `squeue --states=all`, and MinJobAge keeps finished
# jobs visible there long enough for snakemake-executor-plugin-slurm's polling. Addresses are
# 127.0.0.1 (no DNS needed). No cgroups (containers and gVisor lack them): proctrack/linuxproc,
# task/none. Logs: /var/log/slurm/.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE=/var/lib/slurm
LOGS=/var/log/slurm
PACKAGES=(slurmctld slurmd slurm-client munge)
WAIT_S=${SLURM_LOCAL_WAIT_S:-60}

log() { echo "slurm-local: $*" >&2; }

install_packages() {
  local missing=()
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
             --no-install-recommends "${missing[@]}" >/dev/null; } \
      || { log "cannot install ${missing[*]} (apt-get failed)"; exit 3; }
  fi
}

write_config() {
  local node cpus memory
  node=$(hostname -s)
  cpus=$(nproc)
  # RealMemory a little under what slurmd detects, so the node never drains for "low RealMemory"
  memory=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') * 95 / 100 ))
  mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$LOGS"
  chown -R slurm:slurm "$STATE" "$LOGS" 2>/dev/null || true
  cat > "$CONF.tmp" <<EOF
# Written by workflow/cluster/slurm-local.sh: a one-node test cluster, not a production config.
ClusterName=fwbench-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
ReturnToService=2
MpiDefault=none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=compute Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  if ! cmp -s "$CONF.tmp" "$CONF" 2>/dev/null; then mv "$CONF.tmp" "$CONF"; else rm -f "$CONF.tmp"; fi
}

running() { pgrep -x "$1" >/dev/null; }

start_daemons() {
  mkdir -p /run/munge && chown munge:munge /run/munge 2>/dev/null || true
  running munged || { log "starting munged"; runuser -u munge -- /usr/sbin/munged; }
  running slurmctld || { log "starting slurmctld"; /usr/sbin/slurmctld; }
  running slurmd || { log "starting slurmd"; /usr/sbin/slurmd; }
}

wait_idle() {
  local node deadline state
  node=$(hostname -s)
  deadline=$((SECONDS + WAIT_S))
  while ((SECONDS < deadline)); do
    state=$(sinfo -h -N -n "$node" -o %T 2>/dev/null || true)
    case "$state" in
      idle*) log "node $node idle"; sinfo; return 0 ;;
      down*|drain*) scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 1
  done
  log "node $node not idle after ${WAIT_S}s (state: ${state:-none}); see $LOGS/"
  tail -n 20 "$LOGS/slurmctld.log" "$LOGS/slurmd.log" >&2 || true
  return 1
}

stop_daemons() {
  for d in slurmd slurmctld munged; do
    if running "$d"; then log "stopping $d"; pkill -x "$d" || true; fi
  done
  for _ in $(seq 20); do running slurmd || running slurmctld || running munged || return 0; sleep 0.5; done
  pkill -9 -x slurmd slurmctld munged 2>/dev/null || true
}

case "${1:-}" in
  up) install_packages; write_config; start_daemons; wait_idle ;;
  down) stop_daemons ;;
  status) sinfo -N -l ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
