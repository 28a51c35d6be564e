#!/usr/bin/env bash
# Builds Parley's C++ with AddressSanitizer + UndefinedBehaviorSanitizer into build/sanitize
# (SANITIZE_BUILD_DIR) and runs every C++ test there with ctest (CTEST_ARGS are passed on).
# llama.cpp is linked as scripts/build-llama.sh built it, uninstrumented. Every process writes its
# sanitizer reports to $dir/sanitizer-logs/: the test binaries and also the gateway and worker
# binaries the integration tests start, whose reports would otherwise be lost in a child's stderr.
# Any report fails the run, even when the test that caused it passed. See docs/testing.md.
# SANITIZE_TARGETS="a_test b_test": build and run only these test executables (what `make test`
# runs, to stay within CI's time); unset: every target and every test, through ctest.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SANITIZE_BUILD_DIR:-$root/build/sanitize}"
jobs="${JOBS:-$(nproc)}"
start=$(date +%s)
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_SANITIZE=ON >/dev/null
fi
targets=${SANITIZE_TARGETS:-}
if [ -n "$targets" ]; then
  # shellcheck disable=SC2086
  cmake --build "$dir" -j"$jobs" --target $targets
else
  cmake --build "$dir" -j"$jobs"
fi
built=$(date +%s)

logs="$dir/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
status=0
if [ -n "$targets" ]; then
  for t in $targets; do
    exe=$(find "$dir" -type f -name "$t" -perm -u+x | head -n1)
    [ -n "$exe" ] || { echo "no test executable $t in $dir" >&2; status=1; continue; }
    (cd "$(dirname "$exe")" && "$exe" --gtest_brief=1) || status=$?
  done
else
  (cd "$dir" && ctest --output-on-failure -j"$jobs" ${CTEST_ARGS:-}) || status=$?
fi
end=$(date +%s)

if compgen -G "$logs/*" >/dev/null; then
  for f in "$logs"/*; do
    echo "=== $f"
    cat "$f"
  done
  echo "sanitizer reports above (from $logs)" >&2
  status=1
fi
echo "sanitize: build $((built - start)) s, tests $((end - built)) s"
exit $status
