#!/usr/bin/env bash
# Remote backend benchmark: generated tokens/s through the whole of Parley with the openai
# backend (WebSocket -> gateway -> Redis -> worker -> llama-server) next to llama-server driven
# directly by a bare streaming client, same model, same concurrency, same run; the ratio is the
# overhead Parley adds. Prints a markdown section (docs/bench/remote.md records one).
# Each cell is measured REPEATS times, direct and Parley alternating, so slow drifts of a shared
# machine hit both modes alike; the table gives medians and the spread of the per-pair ratios.
# Usage: bench/remote/run.sh [BUILD_DIR]
#   (env: SESSIONS="1 2 4", ROUNDS=5, MAX_NEW_TOKENS=256, REPEATS=5, LLAMA_THREADS=1, MODEL)
# llama-server gets one thread by default: ggml's threads spin, and with two of them on two cores
# every other process (Parley's, the client's) would stall them, which measures the scheduler.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(realpath -m "${1:-${BUILD_DIR:-$root/build/parley}}")
[[ "$build" = /* ]] || build=$root/$build
source "$root/bench/lib.sh"
sessions_list=${SESSIONS:-"1 2 4"}
rounds=${ROUNDS:-5}
max_new=${MAX_NEW_TOKENS:-256}
repeats=${REPEATS:-5}
llama_threads=${LLAMA_THREADS:-1}

"$root/scripts/build-llama.sh" llama-server >/dev/null
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target parley-bench-remote parley-gateway parley-worker parley_tiny_models >/dev/null

model=${MODEL:-$build/models/tiny-chat-text.gguf}
max_sessions=0
for s in $sessions_list; do [ "$s" -gt "$max_sessions" ] && max_sessions=$s; done
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
pids+=($!)
llama_port=$(free_port)
llama_cmd=("$root/build/llama-build/bin/llama-server" -m "$model" --host 127.0.0.1 --port "$llama_port"
           -np "$max_sessions" -c $((2048 * max_sessions)) -t "$llama_threads" --metrics --no-warmup)
"${llama_cmd[@]}" >"$work/llama.log" 2>&1 &
pids+=($!)
gw_port=$(free_port)
(cd "$work" && exec "$build/gateway/parley-gateway" --host 127.0.0.1 --log-level warn --redis-url "redis://127.0.0.1:$redis_port" --port "$gw_port" \
  >"$work/gateway.log" 2>&1) &
pids+=($!)
wait_http "$llama_port" /health
wait_http "$gw_port" /readyz
worker_cmd=("$build/worker/parley-worker" --redis-url "redis://127.0.0.1:$redis_port" --backend openai
            --openai-base-url "http://127.0.0.1:$llama_port" --max-concurrent-turns "$max_sessions"
            --openai-max-in-flight "$max_sessions" --max-new-tokens "$max_new" --metrics-port 0 --log-level warn)
(cd "$work" && exec "${worker_cmd[@]}" >"$work/worker.log" 2>&1) &
pids+=($!)
sleep 1

bench=$build/bench/remote/parley-bench-remote
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

echo "### Remote backend (Parley with MODEL_BACKEND=openai vs llama-server directly)"
echo
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d)."
echo "Model: $(basename "$model"); $rounds messages per session; replies up to $max_new tokens; tokens counted by llama-server (/metrics);"
echo "each cell the median of $repeats runs, direct and Parley alternating; ratio spread = lowest-highest per-pair ratio."
echo
echo '```'
echo "${llama_cmd[*]}"
echo "${worker_cmd[*]}"
echo "$bench --llama-url http://127.0.0.1:$llama_port --direct --sessions N --rounds $rounds --max-new-tokens $max_new"
echo "$bench --llama-url http://127.0.0.1:$llama_port --gateway-port $gw_port --sessions N --rounds $rounds"
echo '```'
echo
echo "| sessions | direct tokens/s | through Parley tokens/s | ratio (median) | ratio spread |"
echo "|---:|---:|---:|---:|---:|"
for s in $sessions_list; do
  ds=() ps=()
  for _ in $(seq 1 "$repeats"); do
    ds+=("$("$bench" --llama-url "http://127.0.0.1:$llama_port" --direct --sessions "$s" --rounds "$rounds" --max-new-tokens "$max_new" | field tokens_per_s)")
    ps+=("$("$bench" --llama-url "http://127.0.0.1:$llama_port" --gateway-port "$gw_port" --sessions "$s" --rounds "$rounds" | field tokens_per_s)")
  done
  python3 - "$s" "${ds[*]}" "${ps[*]}" <<'PY'
import statistics, sys
s, d, p = sys.argv[1], [float(x) for x in sys.argv[2].split()], [float(x) for x in sys.argv[3].split()]
r = [b / a for a, b in zip(d, p)]
print(f"| {s} | {statistics.median(d):.1f} | {statistics.median(p):.1f} | {statistics.median(r):.2f} | {min(r):.2f}-{max(r):.2f} |")
PY
done
