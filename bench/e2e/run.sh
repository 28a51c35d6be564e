#!/usr/bin/env bash
# End-to-end benchmark: the whole of Parley as `make run` starts it (scripts/run.sh: private
# redis-server, gateway, one worker with the local llama.cpp backend, every setting at its
# default) next to llama-server from the same llama.cpp build, on the same model file, threads
# and number of slots, in the same run. parley-bench-e2e drives both with closed-loop
# conversations (K conversations x T turns; each message sent when the previous reply ended);
# on llama-server each turn is a streaming /completion of the transcript Parley's worker would
# build, with cache_prompt. Prints markdown (docs/bench/e2e.md records a run) and writes the
# 200-turn plots to docs/bench/ (BENCH_QUICK: var/bench/).
#
# Usage: bench/e2e/run.sh [BUILD_DIR]
#   env: BENCH_QUICK=1 (a small subset, for iteration), MODEL_THREADS (default: every core, as
#   make run), MODEL_POLL (50, both sides), E2E_LOADS ("1x50 10x20 100x5 1000x3"), E2E_REPLY_TOKENS ("8 128"), E2E_MODELS
#   (stories260K and bench-small paths), E2E_LONG_TURNS (200), E2E_LLAMA_ARGS (more llama-server
#   flags, e.g. "-fa off" to compare with llama-server without flash attention, as Parley runs)
#
# Settings that differ from make run's, and why: IGNORE_EOS=true and MAX_NEW_TOKENS=N so that
# every reply is N tokens on both sides (llama-server gets ignore_eos and n_predict N); the
# per-session rate limit, queue bound and per-address connection limit are lifted (RATE_BURST,
# RATE_PER_SECOND, MAX_QUEUE, MAX_CONNECTIONS_PER_IP) because one client on 127.0.0.1 plays
# every user, at a pace no single user has.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/lib.sh"
build=$(bench_build_dir "${1:-}")

parallel=4   # the worker's PARALLEL and MAX_CONCURRENT_TURNS defaults: llama-server's -np
ctx=2048     # the worker's CTX_SIZE default (context per session): llama-server's -c / -np
threads=${MODEL_THREADS:-$(nproc)}
poll=${MODEL_POLL:-50}  # both sides: the worker's MODEL_POLL and llama-server's --poll (default 50)
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  loads=${E2E_LOADS:-"1x10 10x4"}
  reply_tokens=${E2E_REPLY_TOKENS:-"8"}
  long_turns=${E2E_LONG_TURNS:-40}
  pipeline_turns=20
  svg_dir=$root/var/bench
else
  loads=${E2E_LOADS:-"1x50 10x20 100x5 1000x3"}
  reply_tokens=${E2E_REPLY_TOKENS:-"8 128"}
  long_turns=${E2E_LONG_TURNS:-200}
  pipeline_turns=100
  svg_dir=$root/docs/bench
fi

llama_server=$root/build/llama-build/bin/llama-server
[ -x "$llama_server" ] || "$root/scripts/build-llama.sh" llama-server >/dev/null
build_stack_tools "$build"

if [ -n "${E2E_MODELS:-}" ]; then
  read -ra models <<<"$E2E_MODELS"
else
  models=()
  stories=$(stories_model)
  [ -n "$stories" ] && models+=("$stories")
  [ "${BENCH_QUICK:-0}" = 1 ] && [ ${#models[@]} -gt 0 ] || models+=("$(bench_small_model "$build")")
fi

# 1,000 conversations hold 1,000 sockets on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d /tmp/parley-bench-e2e-XXXXXX)
parley_pid="" llama_pid=""
stop_servers() {
  stop_parley_stack
  if [ -n "$llama_pid" ]; then kill -TERM "$llama_pid" 2>/dev/null || true; wait "$llama_pid" 2>/dev/null || true; fi
  parley_pid="" llama_pid=""
}
cleanup() { stop_servers; rm -rf "$work"; }
trap cleanup EXIT
progress() { echo "[e2e] $*" >&2; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

start_parley() {  # MODEL REPLY_TOKENS
  start_parley_stack "$work" "$build" "$1" "$2" "$threads" "$poll"
}

start_llama() {  # MODEL
  llama_port=$(free_port)
  llama_cmd=("$llama_server" -m "$1" --host 127.0.0.1 --port "$llama_port" -np "$parallel" -c $((ctx * parallel))
             -t "$threads" --poll "$poll" --metrics)
  [ -z "${E2E_LLAMA_ARGS:-}" ] || { read -ra extra <<<"$E2E_LLAMA_ARGS"; llama_cmd+=("${extra[@]}"); }
  "${llama_cmd[@]}" >"$work/llama-$llama_port.log" 2>&1 &
  llama_pid=$!
  wait_http "$llama_port" /health
}

run_id=0
parley_run() {  # CONVERSATIONS TURNS [flags...]
  local k=$1 t=$2
  shift 2
  "$bench" --target parley --port "$gw_port" --conversations "$k" --turns "$t" --run-id "$run_id" \
    --count-metric "http://127.0.0.1:$worker_metrics/metrics" parley_llama_generated_tokens_total "$@" ||
    progress "Parley run $k x $t reported errors"
}
llama_run() {  # MODEL REPLY_TOKENS CONVERSATIONS TURNS [flags...]
  local m=$1 n=$2 k=$3 t=$4
  shift 4
  "$bench" --target llama --llama-url "http://127.0.0.1:$llama_port" --model "$m" --reply-tokens "$n" \
    --conversations "$k" --turns "$t" --run-id "$run_id" \
    --count-metric "http://127.0.0.1:$llama_port/metrics" llamacpp:tokens_predicted_total "$@" ||
    progress "llama-server run $k x $t reported errors"
}
# Both sides of one load, the order alternating from one load to the next so that a slow drift
# of the machine does not always hit the same side. Appends {model, reply_tokens, load, ...}.
side_by_side() {  # MODEL REPLY_TOKENS CONVERSATIONS TURNS OUT_FILE [flags...]
  local m=$1 n=$2 k=$3 t=$4 out=$5 p l la
  shift 5
  run_id=$((run_id + 1))
  la=$(loadavg)
  if [ $((run_id % 2)) = 1 ]; then
    l=$(llama_run "$m" "$n" "$k" "$t" "$@"); p=$(parley_run "$k" "$t" "$@")
  else
    p=$(parley_run "$k" "$t" "$@"); l=$(llama_run "$m" "$n" "$k" "$t" "$@")
  fi
  [ -n "$p" ] && [ -n "$l" ] || { echo "a run of $k x $t produced no result" >&2; exit 1; }
  echo "{\"model\": \"$(basename "$m")\", \"reply_tokens\": $n, \"load\": \"$k x $t\", \"turns\": $t," \
       "\"loadavg\": \"$la -> $(loadavg)\", \"parley\": $p, \"llama\": $l}" >>"$out"
}
# A few replies on each side first, so that neither pays for cold pages in the first load.
warm_up() {  # MODEL REPLY_TOKENS
  run_id=$((run_id + 1))
  parley_run 2 2 >/dev/null
  llama_run "$1" "$2" 2 2 >/dev/null
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_load=$(uptime | sed 's/.*load average: //')
for model in "${models[@]}"; do
  for n in $reply_tokens; do
    progress "$(basename "$model"), $n-token replies (load average $(loadavg))"
    start_llama "$model"
    start_parley "$model" "$n"
    warm_up "$model" "$n"
    for load in $loads; do
      progress "  $load"
      side_by_side "$model" "$n" "${load%x*}" "${load#*x}" "$work/loads.jsonl"
    done
    if [ "$n" = "${reply_tokens%% *}" ]; then
      progress "  one conversation of $long_turns turns"
      side_by_side "$model" "$n" 1 "$long_turns" "$work/long.jsonl" --per-turn
      tail -n1 "$work/long.jsonl" >"$work/long-$(basename "$model").json"
    fi
    stop_servers
  done
done

# The pipeline's own cost: 1-token replies, one conversation, on the first (smallest) model.
progress "pipeline cost: 1-token replies, one conversation of $pipeline_turns turns"
start_llama "${models[0]}"
start_parley "${models[0]}" 1
warm_up "${models[0]}" 1
side_by_side "${models[0]}" 1 1 "$pipeline_turns" "$work/pipeline.jsonl"
tail -n1 "$work/pipeline.jsonl" >"$work/pipeline.json"
stop_servers

echo "### End to end (Parley as make run starts it vs llama-server, same model, threads and slots)"
echo
echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $started;"
echo "load average at the start $start_load, at the end $(uptime | sed 's/.*load average: //')."
echo "Model threads $threads and poll $poll on both sides (MODEL_THREADS; make run's default is every core), $parallel slots,"
echo "$ctx tokens of context per session; loads: $loads; reply tokens: $reply_tokens."
echo
echo '```'
echo "env -i PATH=... VAR_DIR=<tmp> ${parley_env[*]//MAX_NEW_TOKENS=1/MAX_NEW_TOKENS=N} scripts/run.sh"
echo "${llama_cmd[*]}"
echo "$bench --target parley --port <gateway> --conversations K --turns T --run-id R --count-metric http://127.0.0.1:<worker metrics>/metrics parley_llama_generated_tokens_total [--per-turn]"
echo "$bench --target llama --llama-url http://127.0.0.1:<port> --model M --reply-tokens N --conversations K --turns T --run-id R --count-metric http://127.0.0.1:<port>/metrics llamacpp:tokens_predicted_total [--per-turn]"
echo '```'
echo
echo "Ports are picked free for each server start; MODEL and MAX_NEW_TOKENS=N vary by table."
echo
python3 "$root/bench/e2e/report.py" "$work" "$svg_dir"
# The raw results, for a second look: report.py DIR SVG_DIR prints the same from them.
raw=$root/var/bench/e2e-raw-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$raw" && cp "$work"/*.json "$work"/*.jsonl "$raw"/
echo
echo "Raw results: ${raw#"$root"/}"
