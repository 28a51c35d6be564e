#!/usr/bin/env bash
# Message versions and the KV cache: Parley as `make run` starts it (one worker, the local
# llama.cpp backend, defaults) answers a conversation of TURNS messages, then ROUNDS times a
# fresh message, a regenerate of its reply, an edit of it, and a switch back to its first version
# followed by a new message (parley-bench-e2e --scenario versions). Each kind's time to first
# token and the worker's prompt and cached token counts are measured in the same run, side by
# side: a regenerate should prefill almost nothing, an edit only the edited message, a switch
# back only from where the branches part. Prints markdown (docs/bench/versions.md records a run).
#
# Usage: bench/versions/run.sh [BUILD_DIR]
#   env: VERSIONS_TURNS (10), VERSIONS_ROUNDS (10), VERSIONS_REPLY_TOKENS (8), MODEL_THREADS (every
#   core), MODEL_POLL (50), VERSIONS_MODEL (stories260K, else the 58M bench model)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/lib.sh"
build=$(bench_build_dir "${1:-}")
turns=${VERSIONS_TURNS:-10}
rounds=${VERSIONS_ROUNDS:-10}
tokens=${VERSIONS_REPLY_TOKENS:-8}
threads=${MODEL_THREADS:-$(nproc)}
poll=${MODEL_POLL:-50}

build_stack_tools "$build"
model=$(bench_model "$build" "${VERSIONS_MODEL:-}")

work=$(mktemp -d /tmp/parley-bench-versions-XXXXXX)
parley_pid=""
trap 'stop_parley_stack; rm -rf "$work"' EXIT

start_parley_stack "$work" "$build" "$model" "$tokens" "$threads" "$poll"
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
"$bench" --target parley --port "$gw_port" --conversations 1 --turns 2 --run-id warm --scenario versions --rounds 1 >/dev/null
result=$("$bench" --target parley --port "$gw_port" --conversations 1 --turns "$turns" --run-id versions \
  --scenario versions --rounds "$rounds")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Redis memory per stored message: every key of each conversation (MEMORY USAGE, SAMPLES 0 =
# exact) over its history length. The event stream holds every delta of every reply until
# EVENT_RETENTION trims it, so it is counted apart.
redis_port=""
for kv in "${parley_env[@]}"; do [[ $kv == REDIS_PORT=* ]] && redis_port=${kv#REDIS_PORT=}; done
memory=$(python3 - "$redis_port" <<'PY'
import subprocess, sys
port = sys.argv[1]
def cli(*args):
    return subprocess.run(["redis-cli", "-p", port, *args], capture_output=True, text=True, check=True).stdout.split()
totals = {"history": 0, "events": 0, "other": 0}
messages = 0
for key in cli("--scan", "--pattern", "parley:{*}:session"):
    tag = key[: -len(":session")]
    messages += int(cli("LLEN", tag + ":history")[0])
    for suffix in ("session", "history", "events", "dedupe", "rate", "attempts", "lease", "stop"):
        used = cli("MEMORY", "USAGE", f"{tag}:{suffix}", "SAMPLES", "0")
        if used:
            totals[suffix if suffix in totals else "other"] += int(used[0])
print(f"{messages} {totals['history']} {totals['events']} {totals['other']}")
PY
)

echo "### Message versions and the KV cache ($(basename "$model"), $tokens-token replies)"
echo
echo "Machine: $(nproc) CPUs, $started; load average $load_before before, $load_after after."
echo
echo '```'
echo "env -i PATH=... VAR_DIR=<tmp> ${parley_env[*]} scripts/run.sh"
echo "$bench --target parley --port <gateway> --conversations 1 --turns $turns --run-id versions --scenario versions --rounds $rounds"
echo '```'
echo
python3 - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
kinds = r.get("kinds", {})
fresh = kinds.get("fresh", {})
print("| turn | replies | TTFT p50 ms | TTFT p99 ms | TTFT p50 / fresh | prompt tokens | cached | prefilled |")
print("|---|---|---|---|---|---|---|---|")
names = {"fresh": "a new message", "regenerate": "regenerate its reply", "edit": "edit the message",
         "switched_back": "switch back, then a new message"}
for k in ("fresh", "regenerate", "edit", "switched_back"):
    if k not in kinds:
        continue
    v = kinds[k]
    ratio = v["ttft_p50_ms"] / fresh["ttft_p50_ms"] if fresh.get("ttft_p50_ms") else float("nan")
    print(f"| {names[k]} | {v['replies']} | {v['ttft_p50_ms']:.1f} | {v['ttft_p99_ms']:.1f} | {ratio:.2f} | "
          f"{v['prompt_tokens']:.0f} | {v['cached_tokens']:.0f} | {v['prefilled_tokens']:.0f} |")
if r.get("errors"):
    print(f"\n{r['errors']} error(s): {r.get('first_error')}")
PY
read -r messages history_bytes event_bytes other_bytes <<<"$memory"
if [ "${messages:-0}" -gt 0 ]; then
  echo
  echo "Redis memory after the run (MEMORY USAGE of every key of the conversations): $messages stored messages and versions,"
  echo "history $((history_bytes / messages)) B per message, event stream $((event_bytes / messages)) B per message"
  echo "(every delta of every reply, until EVENT_RETENTION trims it), session hash, dedupe and the rest $((other_bytes / messages)) B per message."
fi
