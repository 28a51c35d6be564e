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
threads=${THREADS:-$(nproc)}

"$root/scripts/build-llama.sh" llama-batched-bench >/dev/null
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target parley-bench-inference parley-make-tiny-model >/dev/null

bb=$root/build/llama-build/bin/llama-batched-bench
bench=$build/bench/inference/parley-bench-inference
models=$build/models
# A small random-weight model where the transformer, not the 32000-token output layer, costs
# most: closer to the shape of a real model than the test model, still generated offline.
small=$models/bench-small.gguf
if [ ! -f "$small" ]; then
  "$build/tools/make_tiny_model/parley-make-tiny-model" \
    --vocab "$root/build/llama.cpp/models/ggml-vocab-llama-spm.gguf" --output "$small" \
    --chat-template chatml --embd 512 --layers 8 --heads 8 --kv-heads 4 --ff 1536
fi

list=("$small" "$models/tiny-chat.gguf")
stories=$root/../shared/models/stories260K.gguf
[ -f "$stories" ] && list+=("$(realpath "$stories")")

echo "### Inference (llama_backend vs llama-batched-bench)"
echo
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d)."
echo
for model in "${list[@]}"; do
  "$bench" --model "$model" --batched-bench "$bb" --threads "$threads" --ctx-size 2048
done
