#!/usr/bin/env bash
# A one-node Slurm on this machine, as root, without systemd (Debian's slurm-wlm and munge):
# for CI and for trying `dmd sweep --backend slurm` locally.
#
#   scripts/slurm-one-node.sh install   # apt-get install slurm-wlm munge (needs root)
#   scripts/slurm-one-node.sh start     # munged, slurmctld, slurmd; waits until sinfo shows the node idle
#   scripts/slurm-one-node.sh stop      # stops the daemons this script started (by their pid files)
#
# State lives in $SLURM_ONE_NODE_DIR (default /tmp/dmd-slurm): the munge key, slurm.conf, the
# daemons' pid files, logs and spool. The node is this host with all its cores and 90% of its
# memory; no accounting (sacct is absent; `dmd sweep --status` then reads squeue only).
set -euo pipefail
DIR=${SLURM_ONE_NODE_DIR:-/tmp/dmd-slurm}
HOST=$(hostname -s)

die() { echo "slurm-one-node: $*" >&2; exit 1; }

install() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return 0
    [ "$(id -u)" = 0 ] || die "installing needs root (apt-get install slurm-wlm munge)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; } \
        || die "apt-get install slurm-wlm munge failed"
}

start() {
    command -v slurmctld >/dev/null || die "slurmctld not found: run '$0 install' first"
    [ "$(id -u)" = 0 ] || die "start needs root (the daemons run as root and munge)"
    mkdir -p "$DIR"/{spool/ctld,spool/d,log,run,munge}
    chown munge:munge "$DIR/munge"; chmod 700 "$DIR/munge"
    if [ ! -f "$DIR/munge/munge.key" ]; then
        dd if=/dev/urandom bs=1 count=1024 of="$DIR/munge/munge.key" status=none
        chown munge:munge "$DIR/munge/munge.key"; chmod 400 "$DIR/munge/munge.key"
    fi
    mkdir -p /run/munge; chown munge:munge /run/munge
    local cpus mem
    cpus=$(nproc)
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
    cat > "$DIR/slurm.conf" <<CONF
ClusterName=dmd
SlurmctldHost=$HOST
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/spool/ctld
SlurmdSpoolDir=$DIR/spool/d
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
JobRequeue=1
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
DefMemPerCPU=$((mem / cpus))
NodeName=$HOST CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$DIR/slurm.conf"
    if [ ! -f "$DIR/run/munged.pid" ] || ! kill -0 "$(cat "$DIR/run/munged.pid")" 2>/dev/null; then
        runuser -u munge -- munged --key-file="$DIR/munge/munge.key" \
            --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munge/munged.log" \
            --socket=/run/munge/munge.socket.2 || die "munged did not start ($DIR/munge/munged.log)"
        cp "$DIR/munge/munged.pid" "$DIR/run/munged.pid"
    fi
    slurmctld -f "$DIR/slurm.conf" || die "slurmctld did not start ($DIR/log/slurmctld.log)"
    slurmd -f "$DIR/slurm.conf" || die "slurmd did not start ($DIR/log/slurmd.log)"
    for _ in $(seq 60); do
        if sinfo -h -N -o "%N %T" 2>/dev/null | grep -q "idle"; then
            sinfo -N
            echo "export SLURM_CONF=$DIR/slurm.conf"
            return 0
        fi
        sleep 1
    done
    sinfo -N || true
    die "the node did not become idle within 60 s (logs in $DIR/log)"
}

stop() {
    for d in slurmd slurmctld munged; do
        local file="$DIR/run/$d.pid" pid
        pid=$(cat "$file" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" && echo "stopped $d ($pid)"
        fi
        rm -f "$file"
    done
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
