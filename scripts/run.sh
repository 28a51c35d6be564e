#!/usr/bin/env bash
# `make run`: the whole system in the foreground, every part's log lines prefixed with its name.
# Without REDIS_URL a private redis-server is started (data under var/redis, AOF on, port
# REDIS_PORT, default 6390). Then the gateway on PORT (default 3500) and WORKERS workers (default 1),
# each restarted if it dies (except on a configuration error, exit status 2, which a restart would
# only repeat). Ctrl-C (or SIGTERM) stops everything. STATE_DIR (default var) holds the Redis data
# and the workers' pid files, so a second copy (the end-to-end benchmark) can run beside this one
# on other ports.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/parley}
gateway_bin=$build/gateway/parley-gateway
worker_bin=$build/worker/parley-worker
for bin in "$gateway_bin" "$worker_bin"; do
  [ -x "$bin" ] || { echo "[run] $bin is missing: run 'make run' (it builds first)" >&2; exit 1; }
done

state_dir=$(realpath -m "${STATE_DIR:-$root/var}")
run_dir=$state_dir/run
mkdir -p "$run_dir" "$state_dir/redis"
rm -f "$run_dir/stopping"
export PORT=${PORT:-3500}
export MODEL=${MODEL:-hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf}
workers=${WORKERS:-1}
metrics_base=${METRICS_PORT_BASE:-9100}
# Prometheus: the gateway on METRICS_PORT_BASE, worker i on METRICS_PORT_BASE + i.
export GATEWAY_METRICS_PORT=${GATEWAY_METRICS_PORT:-$metrics_base}

prefix() { sed -u "s/^/[$1] /"; }
pids=()

stop_all() {
  touch "$run_dir/stopping"
  echo "[run] stopping"
  for f in "$run_dir"/worker-*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null; done
  [ ${#pids[@]} -gt 0 ] && kill -TERM "${pids[@]}" 2>/dev/null
  wait 2>/dev/null
  rm -f "$run_dir"/worker-*.pid
  echo "[run] stopped"
  exit 0
}
trap stop_all INT TERM

if [ -z "${REDIS_URL:-}" ]; then
  redis_port=${REDIS_PORT:-6390}
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$state_dir/redis" --appendonly yes \
    --save "" --protected-mode yes > >(prefix redis) 2>&1 &
  pids+=($!)
  export REDIS_URL=redis://127.0.0.1:$redis_port
  for _ in $(seq 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 || { echo "[run] redis-server did not start on port $redis_port" >&2; stop_all; }
  echo "[run] redis-server on $REDIS_URL (data in $state_dir/redis)"
else
  echo "[run] using REDIS_URL=$REDIS_URL"
fi

"$gateway_bin" > >(prefix gateway) 2>&1 &
pids+=($!)

supervise_worker() {
  local i=$1 rc
  while :; do
    METRICS_PORT=$((metrics_base + i)) "$worker_bin" > >(prefix "worker-$i") 2>&1 &
    echo $! > "$run_dir/worker-$i.pid"
    wait $!
    rc=$?
    [ -f "$run_dir/stopping" ] && return
    if [ $rc -eq 2 ]; then
      echo "[run] worker-$i stopped on a configuration error (see above); not restarting it"
      return
    fi
    echo "[run] worker-$i exited with status $rc; restarting it in 1 s"
    sleep 1
  done
}
for i in $(seq 1 "$workers"); do
  supervise_worker "$i" &
  pids+=($!)
done

echo "[run] Parley is starting: open http://localhost:$PORT/ (Ctrl-C stops everything)"
echo "[run] metrics: gateway http://127.0.0.1:$GATEWAY_METRICS_PORT/metrics, worker i on port $metrics_base + i"
wait
