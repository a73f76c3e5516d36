#!/usr/bin/env bash
# A real Slurm test: stand up a one-node Slurm cluster on this machine (Debian's slurm-wlm and
# munge), run the demo workflow once locally and once with `--profile profiles/slurm`, check the
# result files are byte-identical (SHA-256 of results/ except the run's own records:
# results/provenance/ and results/pipeline_info/, which carry times, hosts and the command line),
# and stop every daemon this script started.
#
#   bash cluster/slurm_local.sh [--quick] [--keep] [--no-install] [--skip-local]
#
#   --quick       3 studies (one per sponsor shape) and the 2 primary analyses instead of the
#                 whole demo: a few minutes, for CI
#   --keep        keep the scratch folder (copy of the project, Slurm state and daemon logs)
#   --no-install  fail instead of installing missing Debian or Python packages
#   --skip-local  only run the Slurm leg (no comparison)
#
# Needs root (it writes /etc/slurm/slurm.conf and starts slurmctld, slurmd and, if none is
# running, munged). It refuses to run where a Slurm daemon is already running, and it restores
# any /etc/slurm/slurm.conf it found. The run happens in a copy of the working tree under a
# scratch folder: the checkout's own results/ are not touched.
#
# Traps this script avoids (each cost a hang or a wrong answer when measured here):
# - The plugin's job step (snakemake-executor-plugin-slurm-jobstep) clears SLURM_* variables
#   before calling srun, so SLURM_CONF is lost: slurm.conf must sit at its default path.
# - Without DefMemPerCPU a job that asks for no memory is given the whole node, so jobs run
#   one at a time.
# - There is no accounting database here (accounting_storage/none), so `sacct` cannot see
#   finished jobs and the plugin's default sacct status check never sees them finish. The run
#   uses `--slurm-status-command squeue`, which needs MinJobAge >= 3 x the initial status wait
#   (MinJobAge = 600 s here), else the plugin silently falls back to sacct.
set -euo pipefail

keep=0; install=1; local_leg=1; quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    --keep) keep=1 ;;
    --no-install) install=0 ;;
    --skip-local) local_leg=0 ;;
    -h|--help) sed -n "2,29p" "$0"; exit 0 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd)
CONF=/etc/slurm/slurm.conf
NODE=$(hostname -s)
CORES=$(nproc)
PY=${PYTHON:-python3}
t0=$(date +%s)
say() { printf '[slurm_local %4ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
die() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (writes $CONF, starts slurmctld/slurmd/munged)"

# --- packages -------------------------------------------------------------------------------
missing=()
for cmd in slurmctld slurmd sbatch squeue munged; do command -v "$cmd" >/dev/null || missing+=("$cmd"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$install" -eq 1 ] || die "missing commands: ${missing[*]} (apt-get install slurmctld slurmd slurm-client munge)"
  say "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null; }
fi
if ! "$PY" -c "import snakemake_executor_plugin_slurm" 2>/dev/null; then
  [ "$install" -eq 1 ] || die "snakemake-executor-plugin-slurm is not installed (pip install -e '.[cluster]')"
  say "installing snakemake-executor-plugin-slurm"
  "$PY" -m pip install -q --disable-pip-version-check 'snakemake-executor-plugin-slurm>=2.8,<3'
fi

if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  die "a Slurm daemon is already running on this machine; not touching it"
fi

# --- scratch folder and cleanup -------------------------------------------------------------
SCRATCH=$(mktemp -d /tmp/her2meta-slurm.XXXXXX)
chmod 755 "$SCRATCH"
started=()          # "name:pid" of every daemon started here
conf_backup=""
cleanup() {
  local rc=$?
  set +e
  if command -v squeue >/dev/null && [ -n "${started[*]:-}" ]; then
    ids=$(squeue -h -o %i 2>/dev/null)
    [ -n "$ids" ] && scancel $ids 2>/dev/null
  fi
  # stop in reverse order: slurmd, slurmctld, munged
  for (( i=${#started[@]}-1; i>=0; i-- )); do
    name=${started[$i]%%:*}; pid=${started[$i]##*:}
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
      say "stopped $name (pid $pid)"
    fi
    wait "$pid" 2>/dev/null
  done
  if [ -n "$conf_backup" ]; then
    mv -f "$conf_backup" "$CONF"
  elif [ -f "$CONF" ] && grep -q '^# her2meta slurm_local.sh' "$CONF"; then
    rm -f "$CONF"
  fi
  if [ "$keep" -eq 1 ] || [ "$rc" -ne 0 ]; then
    say "scratch folder kept: $SCRATCH"
  else
    rm -rf "$SCRATCH"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
trap '' PIPE        # a closed stdout must not kill the script before it has cleaned up

# --- slurm.conf at its default path ----------------------------------------------------------
mkdir -p /etc/slurm "$SCRATCH/state" "$SCRATCH/spool" "$SCRATCH/log"
if [ -e "$CONF" ]; then conf_backup="$SCRATCH/slurm.conf.orig"; cp -p "$CONF" "$conf_backup"; fi
mem_total=$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)
real_mem=$(( mem_total > 2048 ? mem_total - 1024 : mem_total ))
cat > "$CONF" <<EOF
# her2meta slurm_local.sh: throw-away one-node cluster (removed when the script exits)
ClusterName=her2meta-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$SCRATCH/state
SlurmdSpoolDir=$SCRATCH/spool
SlurmctldPidFile=$SCRATCH/slurmctld.pid
SlurmdPidFile=$SCRATCH/slurmd.pid
SlurmctldLogFile=$SCRATCH/log/slurmctld.log
SlurmdLogFile=$SCRATCH/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: works in containers and VMs alike.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# Without this a job that gives no --mem is allocated the whole node.
DefMemPerCPU=1000
# Finished jobs stay visible to squeue for 10 minutes (the plugin's squeue status check).
MinJobAge=600
KillWait=5
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CORES RealMemory=$real_mem State=UNKNOWN
PartitionName=local Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
chmod 644 "$CONF"

# --- daemons ---------------------------------------------------------------------------------
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running: using it"
else
  install -d -o munge -g munge -m 0755 /run/munge
  [ -s /etc/munge/munge.key ] || { command -v mungekey >/dev/null && mungekey --create --force; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
  setpriv --reuid=munge --regid=munge --init-groups munged --foreground >"$SCRATCH/log/munged.out" 2>&1 &
  started+=("munged:$!"); echo "munged $!" >>"$SCRATCH/daemons.pid"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || die "munged did not start (see $SCRATCH/log/munged.out)"
  say "started munged (pid $!)"
fi
slurmctld -D -i >"$SCRATCH/log/slurmctld.out" 2>&1 &
started+=("slurmctld:$!"); echo "slurmctld $!" >>"$SCRATCH/daemons.pid"; say "started slurmctld (pid $!)"
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping | grep -q UP || die "slurmctld is not answering (see $SCRATCH/log/slurmctld.log)"
slurmd -D -N "$NODE" >"$SCRATCH/log/slurmd.out" 2>&1 &
started+=("slurmd:$!"); echo "slurmd $!" >>"$SCRATCH/daemons.pid"; say "started slurmd (pid $!)"
for _ in $(seq 150); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break; sleep 0.2
done
[ "$state" = idle ] || die "node $NODE is '$state', not idle (see $SCRATCH/log/slurmd.log)"
say "cluster up: $(sinfo -h -o '%P %D %c CPUs %m MB %T')"
out=$(srun -n1 -t 1 hostname) || die "srun smoke test failed"
say "smoke test: srun ran on $out"

# --- the workflow, locally and on Slurm ---------------------------------------------------------
WORK="$SCRATCH/work"
mkdir -p "$WORK"
tar -C "$REPO" --exclude=./results --exclude=./logs --exclude=./.snakemake --exclude=./.git \
    --exclude='__pycache__' --exclude=./.pytest_cache --exclude=./.hypothesis -cf - . | tar -C "$WORK" -xf -
mkdir -p "$WORK/results"
if [ "$quick" -eq 1 ]; then
  "$PY" - "$WORK" <<'PYEOF'
import sys
from pathlib import Path

import yaml

work = Path(sys.argv[1])
studies = {"SIM-NEOSPHERE", "SIM-NSABPB41", "SIM-BUZDAR"}   # ADaM XPT, SDTM-like CSV, flat file
analyses = ["pcr_by_hr", "efs_by_hr"]
cfg_path = work / "config" / "config.yaml"
cfg = yaml.safe_load(cfg_path.read_text())
cfg["analyses"] = {a: cfg["analyses"][a] for a in analyses}
if isinstance(cfg.get("sensitivity"), dict) and "analyses" in cfg["sensitivity"]:
    cfg["sensitivity"]["analyses"] = [a for a in cfg["sensitivity"]["analyses"] if a in analyses]
cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
sheet = work / "config" / "studies.tsv"
lines = sheet.read_text().splitlines()
sheet.write_text("\n".join([lines[0]] + [l for l in lines[1:] if l.split("\t")[0] in studies]) + "\n")
PYEOF
  say "quick mode: 3 studies, analyses pcr_by_hr and efs_by_hr"
fi
# Rule scripts must import this copy's package even where another checkout is pip-installed
# in editable mode; PYTHONPATH comes before site-packages' .pth entries (and sbatch exports it).
export PYTHONPATH="$WORK/src${PYTHONPATH:+:$PYTHONPATH}"
# Compared: every result file except the run's own records, which carry times, hosts and the
# command line by design: results/provenance/ (one record per result), results/pipeline_info/
# (run and release manifests) and the RO-Crate.
hash_results() {
  (cd "$WORK" && find results -type f ! -path 'results/provenance/*' ! -path 'results/pipeline_info/*' \
     ! -name ro-crate-metadata.json ! -name .gitkeep -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}
cd "$WORK"
if [ "$local_leg" -eq 1 ]; then
  say "local run: snakemake --cores $CORES"
  s=$(date +%s)
  snakemake --cores "$CORES" >"$SCRATCH/log/local.out" 2>&1 || { tail -30 "$SCRATCH/log/local.out"; die "local run failed"; }
  local_s=$(( $(date +%s) - s ))
  hash_results >"$SCRATCH/local.sha256"
  say "local run done in ${local_s}s: $(wc -l <"$SCRATCH/local.sha256") result files"
  rm -rf results logs .snakemake; mkdir -p results
fi

# Local-cluster overrides: status from squeue (no accounting database here), short first wait
# (MinJobAge 600 >= 3 x 2) and a short latency wait (local disk).
say "Slurm run: snakemake --profile profiles/slurm"
s=$(date +%s)
snakemake --profile profiles/slurm \
  --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 \
  --seconds-between-status-checks 2 --latency-wait 5 \
  >"$SCRATCH/log/slurm.out" 2>&1 || { tail -40 "$SCRATCH/log/slurm.out"; die "Slurm run failed"; }
slurm_s=$(( $(date +%s) - s ))
hash_results >"$SCRATCH/slurm.sha256"
n_jobs=$(grep -c 'has been submitted with SLURM jobid' "$SCRATCH/log/slurm.out" || true)
say "Slurm run done in ${slurm_s}s: $n_jobs Slurm jobs, $(wc -l <"$SCRATCH/slurm.sha256") result files"
say "Slurm jobs still listed by squeue (MinJobAge 600 s): $(squeue -h --states=all -o '%T' | sort | uniq -c | tr -s ' \n' ' ')"
squeue -h --states=all -o '%T' | grep -qv COMPLETED && die "some Slurm jobs did not complete"
[ "$n_jobs" -gt 0 ] || die "no job was submitted to Slurm"

if [ "$local_leg" -eq 1 ]; then
  if diff -u "$SCRATCH/local.sha256" "$SCRATCH/slurm.sha256" >"$SCRATCH/diff.txt"; then
    say "PASS: all $(wc -l <"$SCRATCH/slurm.sha256") result files identical to the local run (local ${local_s}s, Slurm ${slurm_s}s)"
  else
    cat "$SCRATCH/diff.txt"; die "results differ from the local run"
  fi
else
  say "PASS: Slurm run completed (${slurm_s}s; no local comparison)"
fi
