#!/usr/bin/env bash
# `make bench`: runs every benchmark area (bench/*/run.sh) against the build in BUILD_DIR and
# writes their markdown tables, with the exact command lines, to var/bench/results-<time>.md.
# docs/benchmarks.md records a reviewed copy of the latest results. BENCH=name runs one area.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export BUILD_DIR=${BUILD_DIR:-build/parley}
export PARLEY_ROOT=$root
cd "$root"
mkdir -p var/bench
out=var/bench/results-$(date -u +%Y%m%dT%H%M%SZ).md
{
  echo "# Parley benchmark run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
} > "$out"
status=0
for script in bench/*/run.sh; do
  area=$(basename "$(dirname "$script")")
  [ -n "${BENCH:-}" ] && [ "$BENCH" != "$area" ] && continue
  echo "== bench: $area"
  { echo; echo "## $area"; echo; } >> "$out"
  if ! bash "$script" | tee -a "$out"; then
    echo "bench $area failed" | tee -a "$out"
    status=1
  fi
done
echo "results: $out"
exit $status
