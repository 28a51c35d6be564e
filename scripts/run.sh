#!/usr/bin/env bash
# `make run`: the whole system in the foreground, every part's log lines prefixed with its name.
#
# Each instance keeps its state in VAR_DIR/PORT (default var/3500): redis/ (the private
# redis-server's AOF), log/ (each part's output since its last start), run/ (pids), and a lock
# (flock) held while the instance runs, so a second `make run` on the same PORT refuses to start
# instead of sharing the first one's Redis data and pid files. Every port the instance will
# listen on is checked first; one already in use stops the start with a line naming it.
#
# Without REDIS_URL a private redis-server is started (AOF on, port REDIS_PORT, default 6390);
# with REDIS_CLUSTER=1 a private Redis Cluster instead: 6 nodes (3 masters, 3 replicas) on ports
# REDIS_PORT .. REDIS_PORT + 5, cluster bus on REDIS_BUS_PORT .. + 5 (default REDIS_PORT + 10000),
# each with its AOF and nodes.conf in redis/node-I, created with redis-cli --cluster create on
# the first start and re-formed from nodes.conf on later ones; gateway and workers get every
# node as a seed and REQUEST_SHARDS=3 (one request stream per master) unless it is set.
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
redis_cluster=${REDIS_CLUSTER:-0}
[[ "$redis_cluster" =~ ^[01]$ ]] || die "REDIS_CLUSTER must be 0 or 1, not '$redis_cluster'" 2
cluster_nodes=6
for v in PORT GATEWAY_METRICS_PORT METRICS_PORT_BASE WORKERS REDIS_PORT REDIS_BUS_PORT; do
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
  if [ "$redis_cluster" = 1 ]; then
    bus_port=${REDIS_BUS_PORT:-$((redis_port + 10000))}
    [ $((redis_port + cluster_nodes - 1)) -le 65535 ] && [ $((bus_port + cluster_nodes - 1)) -le 65535 ] ||
      die "REDIS_PORT and REDIS_BUS_PORT need $cluster_nodes ports each below 65536 (the cluster bus defaults to REDIS_PORT + 10000: set REDIS_BUS_PORT)" 2
    for i in $(seq 0 $((cluster_nodes - 1))); do
      check_port $((redis_port + i)) "REDIS_PORT (cluster node $i: REDIS_PORT + $i)"
      check_port $((bus_port + i)) "REDIS_BUS_PORT (cluster node $i: REDIS_BUS_PORT + $i)"
    done
  else
    check_port "$redis_port" REDIS_PORT
  fi
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
  [ "$(redis-cli -p "${REDIS_NODE_PORT:-$redis_port}" ping 2>/dev/null)" = PONG ] &&
    redis-cli -p "${REDIS_NODE_PORT:-$redis_port}" info server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$1"
}
cluster_field() {  # PORT FIELD: a field of CLUSTER INFO
  redis-cli -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
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

# Cluster nodes stop replicas first. Redis 7.0 ignores a SIGTERM that comes while a replica
# writes its initial AOF after a sync ("Writing initial AOF, can't exit"), which takes
# milliseconds: the signal is sent again every second, and a node still running after 10 s is
# told SHUTDOWN FORCE.
stop_cluster() {
  local i role pid replicas=() masters=()
  for i in $(seq 0 $((cluster_nodes - 1))); do
    pid=$(cat "$run_dir/redis-$i.pid" 2>/dev/null)
    [ -n "$pid" ] || continue
    role=$(redis-cli -p $((redis_port + i)) role 2>/dev/null | head -n 1)
    if [ "$role" = slave ]; then replicas+=("$i:$pid"); else masters+=("$i:$pid"); fi
  done
  local group entry tick alive
  for group in replicas masters; do
    local -n nodes=$group
    [ ${#nodes[@]} -eq 0 ] && continue
    for tick in $(seq 0 100); do
      alive=0
      for entry in "${nodes[@]}"; do
        kill -0 "${entry#*:}" 2>/dev/null || continue
        alive=1
        if [ "$tick" = 100 ]; then
          redis-cli -p $((redis_port + ${entry%%:*})) shutdown force >/dev/null 2>&1
        elif [ $((tick % 10)) = 0 ]; then
          kill -TERM "${entry#*:}" 2>/dev/null
        fi
      done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    for entry in "${nodes[@]}"; do
      while kill -0 "${entry#*:}" 2>/dev/null; do sleep 0.1; done
    done
  done
}

stop_all() {
  trap '' INT TERM USR1
  touch "$run_dir/stopping"
  echo "[run] stopping"
  # Workers hand their running turns back through Redis, so Redis goes last.
  stop_parts 'worker-*'
  stop_parts gateway
  if [ "$redis_cluster" = 1 ] && [ -n "${redis_port:-}" ]; then stop_cluster; else stop_parts redis; fi
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

if [ -z "${REDIS_URL:-}" ] && [ "$redis_cluster" = 1 ]; then
  seeds=()
  for i in $(seq 0 $((cluster_nodes - 1))); do
    node_port=$((redis_port + i))
    mkdir -p "$state/redis/node-$i" || die "cannot create $state/redis/node-$i"
    REDIS_NODE_PORT=$node_port supervise "redis-$i" redis_up redis-server --port "$node_port" --bind 127.0.0.1 \
      --dir "$state/redis/node-$i" --appendonly yes --save "" --protected-mode yes --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-port $((bus_port + i)) --cluster-node-timeout 5000 &
    seeds+=("127.0.0.1:$node_port")
  done
  for i in $(seq 0 $((cluster_nodes - 1))); do
    until REDIS_NODE_PORT=$((redis_port + i)) redis_up "$(cat "$run_dir/redis-$i.pid" 2>/dev/null)"; do sleep 0.1; done
  done
  # A first start: no node has slots yet. Later starts re-form from each node's nodes.conf.
  if [ "$(cluster_field "$redis_port" cluster_slots_assigned)" = 0 ]; then
    echo "[run] creating the Redis Cluster (3 masters, 3 replicas)"
    redis-cli --cluster create "${seeds[@]}" --cluster-replicas 1 --cluster-yes >"$log_dir/cluster-create.log" 2>&1 ||
      { fatal "redis-cli --cluster create failed: $(tail -n 1 "$log_dir/cluster-create.log")" 1; wait; }
  fi
  for i in $(seq 0 $((cluster_nodes - 1))); do
    until [ "$(cluster_field $((redis_port + i)) cluster_state)" = ok ]; do sleep 0.2; done
  done
  export REDIS_URL=redis://$(IFS=,; echo "${seeds[*]}")
  # One request shard per master, so the queue spreads over all three (docs/design.md).
  export REQUEST_SHARDS=${REQUEST_SHARDS:-3}
  echo "[run] Redis Cluster on $REDIS_URL (data in $state/redis/node-*, $REQUEST_SHARDS request shards)"
elif [ -z "${REDIS_URL:-}" ]; then
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
