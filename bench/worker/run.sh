#!/usr/bin/env bash
# Redis commands per generated token: a private redis-server, one parley-worker with the local
# backend, S sessions each sending one message at once (written to Redis the way the gateway
# does), until every reply is stored. Counts come from Redis itself (INFO commandstats: every
# command, including those a Lua script runs) and from the worker (/metrics: round trips, with
# a script counted once). Prints a markdown table with the exact command lines.
set -euo pipefail
root=${PARLEY_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD_DIR:-build/parley}
worker_bin=$root/$build/worker/parley-worker
model=${BENCH_MODEL:-$root/../shared/models/stories260K.gguf}
[ -f "$model" ] || model=$root/$build/models/tiny-base.gguf
tokens=${BENCH_TOKENS:-128}
[ -x "$worker_bin" ] || { echo "build parley-worker first ($worker_bin)"; exit 1; }

source "$root/bench/lib.sh"
dir=$(mktemp -d)
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --loglevel warning &
redis_pid=$!
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
rc() { redis-cli -p "$redis_port" "$@"; }
until rc ping >/dev/null 2>&1; do sleep 0.1; done

# Sum of calls over every command but those the bench itself uses to watch (INFO, LLEN, CONFIG).
worker_calls() {
  rc info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 !~ /cmdstat_(info|llen|config)$/ {n += $3} END {print n+0}'
}
metric() { curl -s "http://127.0.0.1:$metrics_port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

echo "| sessions | flush | generated tokens | delta events | Redis commands (server) | per token | round trips (worker) | per token |"
echo "|---|---|---|---|---|---|---|---|"
for flush in "50ms 16" "1ms 1"; do
  set -- $flush
  interval=$1; max_pieces=$2
  for sessions in 1 4; do
    rc flushall >/dev/null
    metrics_port=$(free_port)
    cmd=("$worker_bin" --redis-url "redis://127.0.0.1:$redis_port" --model "$model" --metrics-port "$metrics_port"
         --max-new-tokens "$tokens" --temperature 0 --parallel 4 --max-concurrent-turns 4
         --flush-interval "$interval" --flush-tokens "$max_pieces" --log-level warn)
    "${cmd[@]}" 2>"$dir/worker.log" &
    worker_pid=$!
    until curl -sf "http://127.0.0.1:$metrics_port/healthz" >/dev/null; do sleep 0.2; done
    sleep 1  # the consumer group exists once the worker reads
    rc config resetstat >/dev/null
    for s in $(seq 1 "$sessions"); do
      t="bench-$s"
      rc hset "parley:{$t}:session" name bench next_seq 1 done_seq 0 >/dev/null
      rc rpush "parley:{$t}:history" "{\"id\":\"1-$s\",\"source\":\"human\",\"msg\":\"Once upon a time\",\"timestamp\":\"t\",\"seq\":1}" >/dev/null
      rc xadd parley:requests '*' token "$t" seq 1 id "1-$s" >/dev/null
    done
    setup=$((sessions * 3))
    while :; do
      done_count=0
      for s in $(seq 1 "$sessions"); do
        [ "$(rc llen "parley:{bench-$s}:history")" -ge 2 ] && done_count=$((done_count + 1))
      done
      [ "$done_count" -eq "$sessions" ] && break
      sleep 0.2
    done
    sleep 0.5  # the release and XACK after the last reply
    server=$(( $(worker_calls) - setup ))
    generated=$(metric parley_llama_generated_tokens_total)
    trips=$(metric parley_worker_redis_commands_total)
    events=$(metric parley_worker_delta_events_total)
    kill "$worker_pid"; wait "$worker_pid" 2>/dev/null || true; worker_pid=""
    awk -v s="$sessions" -v f="$interval/$max_pieces" -v g="$generated" -v e="$events" -v c="$server" -v t="$trips" \
      'BEGIN {printf "| %d | %s | %d | %d | %d | %.3f | %d | %.3f |\n", s, f, g, e, c, c/g, t, t/g}'
  done
done
echo
echo "Worker: \`parley-worker --model $(basename "$model") --max-new-tokens $tokens --temperature 0 --parallel 4 --max-concurrent-turns 4 --flush-interval I --flush-tokens N\`;"
echo "flush column: I/N. Each session sends one message; counts cover the whole turn (read, lease, prompt,"
echo "events, completion, release, ack). Server counts include the commands Lua scripts run."
