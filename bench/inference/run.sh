#!/usr/bin/env bash
# Inference benchmark: llama_backend next to llama-batched-bench on the same model files and
# thread count, in one run. Prints a markdown section (docs/bench/inference.md records one).
# Usage: bench/inference/run.sh [BUILD_DIR]   (default $BUILD_DIR, else build/parley;
# env THREADS, default nproc: on a busy shared machine THREADS=1 gives steadier numbers)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_arg=${1:-${BUILD_DIR:-build/parley}}
case $build_arg in /*) ;; *) build_arg=$root/$build_arg ;; esac
build=$(realpath -m "$build_arg")
source "$root/bench/lib.sh"
threads=${THREADS:-$(nproc)}

"$root/scripts/build-llama.sh" llama-batched-bench >/dev/null
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target parley-bench-inference parley-make-tiny-model >/dev/null

bb=$root/build/llama-build/bin/llama-batched-bench
bench=$build/bench/inference/parley-bench-inference
list=("$(bench_small_model "$build")" "$build/models/tiny-chat.gguf")
stories=$(stories_model)
[ -n "$stories" ] && list+=("$stories")

echo "### Inference (llama_backend vs llama-batched-bench)"
echo
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d)."
echo
for model in "${list[@]}"; do
  "$bench" --model "$model" --batched-bench "$bb" --threads "$threads" --ctx-size 2048
done
