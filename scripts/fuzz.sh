#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) into build/fuzz
# (FUZZ_BUILD_DIR) and runs each for FUZZ_SECONDS (default 60); FUZZ_TARGETS="url sse_parser"
# runs only those. Each starts from its committed seeds (tests/fuzz/corpus/NAME, never written)
# plus what earlier runs found (build/fuzz/corpus/NAME). A crash or a violated property stops that
# target, saves the input as build/fuzz/artifacts/NAME-crash-... and fails the run; reproduce it
# with `build/fuzz/tests/fuzz/fuzz_NAME FILE`. See docs/testing.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
seconds="${FUZZ_SECONDS:-60}"
jobs="${JOBS:-$(nproc)}"
if [ ! -f "$dir/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_FUZZ=ON >/dev/null
fi
cmake --build "$dir" -j"$jobs" --target parley_fuzzers

targets="${FUZZ_TARGETS:-$(cd "$root/tests/fuzz" && ls ./*.cpp | sed 's|^\./||; s|\.cpp$||')}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
mkdir -p "$dir/artifacts"
status=0
for name in $targets; do
  seeds="$root/tests/fuzz/corpus/$name"
  found="$dir/corpus/$name"
  log="$dir/fuzz_$name.log"
  mkdir -p "$found"
  dict=()
  [ -f "$root/tests/fuzz/$name.dict" ] && dict=(-dict="$root/tests/fuzz/$name.dict")
  if "$dir/tests/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$dir/artifacts/$name-" "${dict[@]}" "$found" "$seeds" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz_$name: ${seconds} s, $runs inputs, corpus $(ls "$found" | wc -l) + $(ls "$seeds" | wc -l) seeds, ok"
  else
    tail -n 80 "$log"
    echo "fuzz_$name FAILED (log: $log)" >&2
    status=1
  fi
done
exit $status
