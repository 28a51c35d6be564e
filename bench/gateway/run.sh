#!/usr/bin/env bash
# Gateway benchmark: starts a private redis-server and parley-gateway on free loopback ports, runs
# the load generator and prints a markdown table with the exact command lines.
#   bench/gateway/run.sh [BUILD_DIR]      (default build/parley)
# Measures: POST /token per second, RSS per idle WebSocket at 10,000 connections, accepted chat
# messages per second with 1,000 sessions, Redis commands per accepted message (INFO commandstats).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${1:-${BUILD_DIR:-build/parley}}
GATEWAY=$BUILD_DIR/gateway/parley-gateway
LOAD=$BUILD_DIR/bench/gateway/parley-gateway-load
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
SESSIONS=${SESSIONS:-1000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
for b in "$GATEWAY" "$LOAD"; do [ -x "$b" ] || { echo "missing $b: build first" >&2; exit 1; }; done
# 10,000 sockets on each side need file descriptors.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

source bench/lib.sh
WORK=$(mktemp -d /tmp/parley-bench-gateway-XXXXXX)
REDIS_PORT=$(free_port)
GW_PORT=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" >"$WORK/redis.log" 2>&1 &
pids+=($!)
rc() { redis-cli -p "$REDIS_PORT" "$@"; }
until rc ping >/dev/null 2>&1; do sleep 0.1; done

GW_FLAGS=(--host 127.0.0.1 --port "$GW_PORT" --redis-url "redis://127.0.0.1:$REDIS_PORT" --log-level warn
  --max-connections-per-ip 100000 --rate-burst 1000000000 --rate-per-second 1000000000 --max-queue 1000000000)
GW_CMD="$GATEWAY ${GW_FLAGS[*]}"
"$GATEWAY" "${GW_FLAGS[@]}" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
pids+=($GW_PID)
until curl -sf "http://127.0.0.1:$GW_PORT/healthz" >/dev/null; do sleep 0.1; done
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$GW_PID/status"; }
json_field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

# (a) POST /token per second
TOKEN_CMD="$LOAD token --port $GW_PORT --connections 16 --seconds $SECONDS_PER_RUN"
token_out=$($TOKEN_CMD 2>/dev/null)
token_rate=$(echo "$token_out" | json_field per_second)

# (b) RSS per idle WebSocket
IDLE_CMD="$LOAD idle --port $GW_PORT --connections $IDLE_CONNECTIONS --sessions 100 --hold 5"
rss_before=$(rss_kb)
rss_during=""
coproc IDLE { $IDLE_CMD 2>&1; }
while read -r line <&"${IDLE[0]}"; do
  case "$line" in
    READY) sleep 2; rss_during=$(rss_kb) ;;
    \{*) idle_out=$line ;;
  esac
done
idle_open=$(echo "$idle_out" | json_field open)
per_conn=$(python3 -c "print(round(($rss_during - $rss_before) * 1024 / max(1, $idle_open)))")

# (c) accepted messages per second, (d) Redis commands per accepted message: the load tool resets
# the stats once every socket is open and reads INFO commandstats right after the timed run.
requests_before=$(rc xlen parley:requests)
MSG_CMD="$LOAD messages --port $GW_PORT --sessions $SESSIONS --seconds $SECONDS_PER_RUN --redis-port $REDIS_PORT"
msg_out=$($MSG_CMD 2>/dev/null)
msg_rate=$(echo "$msg_out" | json_field per_second)
acked=$(echo "$msg_out" | json_field acked)
read -r per_msg_total per_msg_roundtrips < <(echo "$msg_out" | python3 -c "
import json, sys
o = json.loads(sys.stdin.read()); c = o['commandstats']; n = max(1, o['acked'] + o['acked_late'])
# Round trips: one EVALSHA (the accept script) and one XADD to parley:requests per message; the
# script's own XADD is counted under xadd too, hence xadd - evalsha for the top-level ones.
top = c.get('evalsha', 0) + (c.get('xadd', 0) - c.get('evalsha', 0))
print(round(c['total'] / n, 2), round(top / n, 2))")

cat <<TABLE
| measurement | result | command |
|---|---|---|
| POST /token per second (16 keep-alive connections) | $(printf '%.0f' "$token_rate") /s | \`$TOKEN_CMD\` |
| RSS per idle WebSocket ($idle_open open) | $per_conn bytes (gateway RSS $rss_before KB -> $rss_during KB) | \`$IDLE_CMD\` |
| accepted chat messages per second ($SESSIONS sessions, one message in flight each) | $(printf '%.0f' "$msg_rate") /s ($acked acked) | \`$MSG_CMD\` |
| Redis round trips per accepted message (EVALSHA + XADD) | $per_msg_roundtrips | INFO commandstats |
| Redis commands per accepted message, including those inside the Lua script | $per_msg_total | INFO commandstats |

Gateway: \`$GW_CMD\` ($(nproc) cores, $(date -u +%Y-%m-%d)).
TABLE
