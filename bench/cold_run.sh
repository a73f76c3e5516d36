#!/usr/bin/env bash
# Benchmark (run on demand, not a test): wall time of a cold run and of a no-op rerun of the
# demo workflow, N times each; prints every time and the median.
#   bash bench/cold_run.sh [N] [CORES]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-3}; cores=${2:-2}
cold=(); noop=()
for i in $(seq "$n"); do
  rm -rf results/extracted results/harmonized results/estimates results/pooled results/figures results/report results/provenance logs
  s=$(date +%s.%N); snakemake --cores "$cores" -q >/dev/null 2>&1; e=$(date +%s.%N)
  cold+=("$(echo "$e - $s" | bc)")
  s=$(date +%s.%N); snakemake --cores "$cores" -q >/dev/null 2>&1; e=$(date +%s.%N)
  noop+=("$(echo "$e - $s" | bc)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "cold run (--cores $cores): ${cold[*]} s; median $(median "${cold[@]}") s"
echo "no-op rerun:             ${noop[*]} s; median $(median "${noop[@]}") s"
