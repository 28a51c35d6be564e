#!/usr/bin/env bash
# Builds llama.cpp from the source bundle that node-llama-cpp@3.21.1 ships (pinned in
# deps/llama/package-lock.json). Nothing is downloaded except that npm package; the source is
# cloned into build/llama.cpp (ignored) and built as static libraries plus the two tools that
# tests and benchmarks run (llama-server, llama-batched-bench). Idempotent: a finished build
# is reused, and ccache makes a rebuild cheap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/build/llama.cpp
out=$root/build/llama-build
bundle=$root/deps/llama/node_modules/node-llama-cpp/llama/gitRelease.bundle

if [ ! -f "$bundle" ]; then
  (cd "$root/deps/llama" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund)
fi
if [ ! -f "$src/CMakeLists.txt" ]; then
  rm -rf "$src"
  git clone --quiet "$bundle" "$src"
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
if [ ! -f "$out/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$out" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
    -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_OPENMP=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
    -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_COMMON=ON >/dev/null
fi
cmake --build "$out" -j"$(nproc)" --target llama ggml ggml-base ggml-cpu "${@}"
