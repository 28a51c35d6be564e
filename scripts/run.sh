#!/usr/bin/env bash
# `make run`: the whole system in the foreground, every part's log lines prefixed with its name.
#
# Each instance keeps its state in VAR_DIR/PORT (default var/3500): redis/ (the private
# redis-server's AOF), log/ (each part's output since its last start), run/ (pids), and a lock
# (flock) held while the instance runs, so a second `make run` on the same PORT refuses to start
# instead of sharing the first one's Redis data and pid files. Every port the instance will
# listen on is checked first; one already in use stops the start with a line naming it.
#
# Without REDIS_URL a private redis-server is started (AOF on, port REDIS_PORT, default 6390).
# Then the gateway on PORT (default 3500) and WORKERS workers (default 1). A part that dies after
# it was up (redis-server answering PING, the gateway and each worker answering /healthz) is
# restarted after 1 s. A part that dies before it was up, or exits with status 2 (a configuration
# error, which a restart would only repeat), stops everything: `make run` then exits non-zero
# (2 for a configuration error, else 1) with the reason on its last line. Ctrl-C stops everything.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build/parley}
gateway_bin=$build/gateway/parley-gateway
worker_bin=$build/worker/parley-worker

die() {
  echo "[run] $1" >&2
  exit "${2:-1}"
}
for bin in "$gateway_bin" "$worker_bin"; do
  [ -x "$bin" ] || die "$bin is missing: run 'make run' (it builds first)"
done

export PORT=${PORT:-3500}
export MODEL=${MODEL:-hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf}
workers=${WORKERS:-1}
metrics_base=${METRICS_PORT_BASE:-9100}
# Prometheus: the gateway on METRICS_PORT_BASE, worker i on METRICS_PORT_BASE + i.
export GATEWAY_METRICS_PORT=${GATEWAY_METRICS_PORT:-$metrics_base}
for v in PORT GATEWAY_METRICS_PORT METRICS_PORT_BASE WORKERS; do
  val=${!v:-}
  [ -z "$val" ] || [[ "$val" =~ ^[0-9]+$ ]] || die "$v must be a number, not '$val'" 2
done

state=${VAR_DIR:-$root/var}/$PORT
run_dir=$state/run
log_dir=$state/log
mkdir -p "$run_dir" "$log_dir" "$state/redis" || die "cannot create $state"
exec {lock_fd}>"$state/lock"
if ! flock -n "$lock_fd"; then
  other=$(cat "$state/run.pid" 2>/dev/null)
  die "another 'make run' is already running with PORT=$PORT (pid ${other:-unknown}; its state is in $state): stop it first, or start this one with another PORT (and REDIS_PORT, METRICS_PORT_BASE)"
fi
echo $$ > "$state/run.pid"
rm -f "$run_dir"/* 2>/dev/null

# Something already accepts connections on 127.0.0.1:$1 (a listener on every address counts).
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
check_port() {
  port_in_use "$1" && die "port $1 ($2) is already in use by another program: set $2 to a free port"
  return 0
}
check_port "$PORT" PORT
[ "$GATEWAY_METRICS_PORT" = 0 ] || check_port "$GATEWAY_METRICS_PORT" GATEWAY_METRICS_PORT
for i in $(seq 1 "$workers"); do check_port $((metrics_base + i)) "METRICS_PORT_BASE (worker $i: METRICS_PORT_BASE + $i)"; done
if [ -z "${REDIS_URL:-}" ]; then
  redis_port=${REDIS_PORT:-6390}
  check_port "$redis_port" REDIS_PORT
fi

# Log lines of part $1, prefixed. SIGINT is ignored so that on Ctrl-C the last lines still pass.
prefix() {
  trap '' INT
  sed -u "s/^/[$1] /"
}

# Runs part $1 (command "${@:2}"), its output prefixed and copied to log/$1.log, its pid in
# run/$1.pid; returns the part's exit status.
run_part() {
  local name=$1
  shift
  { "$@" 2>&1 & echo $! > "$run_dir/$name.pid"; wait $!; } | tee "$log_dir/$name.log" | prefix "$name"
}

# Ends the instance from a supervisor: the first reason wins; the main shell stops everything.
fatal() {
  (set -C; printf '%s\n%s\n' "$2" "$1" > "$run_dir/fatal") 2>/dev/null
  kill -USR1 $$
}

# supervise NAME CHECK COMMAND...: runs a part and restarts it when it dies after CHECK PID
# succeeded once; dying before that, or with status 2, is fatal.
supervise() {
  local name=$1 check=$2 rc pid up
  shift 2
  while :; do
    [ -f "$run_dir/stopping" ] && return 0
    rm -f "$run_dir/$name.pid"
    run_part "$name" "$@" &
    local job=$!
    while [ ! -s "$run_dir/$name.pid" ] && kill -0 "$job" 2>/dev/null; do sleep 0.05; done
    pid=$(cat "$run_dir/$name.pid" 2>/dev/null)
    up=0
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do
      if "$check" "$pid"; then
        up=1
        echo "[run] $name is up"
        break
      fi
      sleep 0.2
    done
    wait "$job"
    rc=$?
    [ -f "$run_dir/stopping" ] && return 0
    local last
    last=$(tail -n 1 "$log_dir/$name.log" 2>/dev/null)
    if [ $rc -eq 2 ]; then
      fatal "$name stopped on a configuration error (exit status 2): $last" 2
      return 0
    fi
    if [ $up -eq 0 ]; then
      fatal "$name exited with status $rc before it was up: $last" 1
      return 0
    fi
    echo "[run] $name exited with status $rc; restarting it in 1 s"
    sleep 1
  done
}

redis_up() {
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] &&
    redis-cli -p "$redis_port" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$1"
}
probe_host=${HOST:-127.0.0.1}
case $probe_host in
  0.0.0.0) probe_host=127.0.0.1 ;;
  ::) probe_host='[::1]' ;;
  *:*) probe_host="[$probe_host]" ;;
esac
gateway_up() { curl -fsS -o /dev/null -m 2 "http://$probe_host:$PORT/healthz" 2>/dev/null; }
# METRICS_PORT is the one `supervise worker-i` was called with.
worker_up() { curl -fsS -o /dev/null -m 2 "http://${METRICS_HOST:-127.0.0.1}:$METRICS_PORT/healthz" 2>/dev/null; }

# Stops the parts named by the pid files matching $1, and waits for them to exit.
stop_parts() {
  local f pids=()
  for f in "$run_dir"/$1.pid; do [ -s "$f" ] && pids+=("$(cat "$f")"); done
  [ ${#pids[@]} -eq 0 ] && return
  kill -TERM "${pids[@]}" 2>/dev/null
  while kill -0 "${pids[@]}" 2>/dev/null; do sleep 0.1; done
}

stop_all() {
  trap '' INT TERM USR1
  touch "$run_dir/stopping"
  echo "[run] stopping"
  # Workers hand their running turns back through Redis, so Redis goes last.
  stop_parts 'worker-*'
  stop_parts gateway
  stop_parts redis
  wait
  rm -f "$run_dir"/*.pid "$state/run.pid"
  if [ -f "$run_dir/fatal" ]; then
    local status reason
    { read -r status; read -r reason; } < "$run_dir/fatal"
    echo "[run] stopped: $reason" >&2
    exit "$status"
  fi
  echo "[run] stopped"
  exit 0
}
trap stop_all INT TERM USR1

if [ -z "${REDIS_URL:-}" ]; then
  supervise redis redis_up redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$state/redis" \
    --appendonly yes --save "" --protected-mode yes &
  export REDIS_URL=redis://127.0.0.1:$redis_port
  # Gateway and workers start once Redis answers (a long AOF may take a while to load).
  until redis_up "$(cat "$run_dir/redis.pid" 2>/dev/null)"; do sleep 0.1; done
  echo "[run] redis-server on $REDIS_URL (data in $state/redis)"
else
  echo "[run] using REDIS_URL=$REDIS_URL"
fi

supervise gateway gateway_up "$gateway_bin" &
for i in $(seq 1 "$workers"); do
  METRICS_PORT=$((metrics_base + i)) supervise "worker-$i" worker_up "$worker_bin" &
done

echo "[run] Parley is starting: open http://localhost:$PORT/ (Ctrl-C stops everything; state in $state)"
echo "[run] metrics: gateway http://127.0.0.1:$GATEWAY_METRICS_PORT/metrics, worker i on port $metrics_base + i"
wait
stop_all
