#!/usr/bin/env bash
# `make chaos`: the chaos suite (tests/chaos, docs/chaos.md) in its full form: more trials per
# scenario, and the takeover and recovery times each measured (p50 and max). The output is also
# written to var/chaos/results-<time>.txt; its last line totals the trials of every scenario.
# CHAOS_FILTER=<gtest filter> runs some scenarios only (e.g. 'chaos.worker_*').
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=${BUILD_DIR:-build/parley}/tests/chaos/parley_chaos_test
[ -x "$bin" ] || { echo "[chaos] $bin is missing: run 'make chaos' (it builds first)" >&2; exit 1; }
mkdir -p var/chaos
out=var/chaos/results-$(date -u +%Y%m%dT%H%M%SZ).txt
PARLEY_CHAOS=full "$bin" ${CHAOS_FILTER:+--gtest_filter="$CHAOS_FILTER"} 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
echo "[chaos] results in $out"
awk '/^[a-z0-9_]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4 }
     END { printf "chaos: %d passed, %d failed\n", p, f }' "$out" | tee -a "$out"
exit "$rc"
