#!/usr/bin/env bash
# The worker's model settings measured on the whole path: Parley as `make run` starts it
# (bench/lib.sh start_parley_stack), once per setting, driven by parley-bench-e2e with the same
# closed-loop conversations as bench/e2e/run.sh. Settings take turns within each round (the
# order rotates from round to round) so that a drift of the machine does not always hit the
# same one; the table gives the median over the rounds and its ratio to the first setting.
# The defaults of FLASH_ATTN, MODEL_THREADS and MODEL_POLL were chosen from this table
# (docs/bench/e2e.md, "Settings").
#
# Usage: bench/e2e/settings.sh [BUILD_DIR]   (not part of make bench: about 15 s per setting and round)
#   env: SETTINGS ("default FLASH_ATTN=on MODEL_THREADS=1 MODEL_POLL=0 MODEL_POLL=100": each a
#        comma-separated list of VAR=VALUE, "default" for none), SETTINGS_LOADS ("1x50 10x20"),
#        SETTINGS_REPLY_TOKENS (8), SETTINGS_ROUNDS (3), SETTINGS_MODEL (stories260K when the
#        machine has it, else the 58M bench model)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/lib.sh"
build=$(bench_build_dir "${1:-}")

read -ra settings <<<"${SETTINGS:-default FLASH_ATTN=on MODEL_THREADS=1 MODEL_POLL=0 MODEL_POLL=100}"
loads=${SETTINGS_LOADS:-"1x50 10x20"}
tokens=${SETTINGS_REPLY_TOKENS:-8}
rounds=${SETTINGS_ROUNDS:-3}

build_stack_tools "$build"
model=$(bench_model "$build" "${SETTINGS_MODEL:-}")

work=$(mktemp -d /tmp/parley-bench-settings-XXXXXX)
parley_pid=""
trap 'stop_parley_stack; rm -rf "$work"' EXIT
progress() { echo "[settings] $*" >&2; }

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
start_load=$(uptime | sed 's/.*load average: //')
run_id=0
for ((round = 0; round < rounds; round++)); do
  for ((i = 0; i < ${#settings[@]}; i++)); do
    setting=${settings[$(((i + round) % ${#settings[@]}))]}
    STACK_ENV=()
    [ "$setting" = default ] || IFS=, read -ra STACK_ENV <<<"$setting"
    # MODEL_THREADS and MODEL_POLL as make run sets them, unless the setting names them.
    threads=$(nproc) poll=50
    for kv in ${STACK_ENV[@]+"${STACK_ENV[@]}"}; do
      case $kv in MODEL_THREADS=*) threads=${kv#*=} ;; MODEL_POLL=*) poll=${kv#*=} ;; esac
    done
    progress "round $((round + 1))/$rounds: $setting (load average $(cut -d' ' -f1 /proc/loadavg))"
    start_parley_stack "$work" "$build" "$model" "$tokens" "$threads" "$poll"
    run_id=$((run_id + 1))
    "$bench" --target parley --port "$gw_port" --conversations 2 --turns 2 --run-id "w$run_id" >/dev/null
    for load in $loads; do
      run_id=$((run_id + 1))
      result=$("$bench" --target parley --port "$gw_port" --conversations "${load%x*}" --turns "${load#*x}" \
                 --run-id "$run_id") || progress "  $setting $load reported errors"
      echo "{\"setting\": \"$setting\", \"load\": \"$load\", \"round\": $round, \"parley\": $result}" >>"$work/settings.jsonl"
    done
    stop_parley_stack
  done
done

echo "### Settings (Parley as make run starts it, one setting changed at a time)"
echo
echo "Model $(basename "$model"), $tokens-token replies, $rounds rounds; $(nproc) CPUs, $started;"
echo "load average at the start $start_load, at the end $(uptime | sed 's/.*load average: //')."
echo
echo '```'
echo "SETTINGS=\"${settings[*]}\" SETTINGS_LOADS=\"$loads\" SETTINGS_REPLY_TOKENS=$tokens SETTINGS_ROUNDS=$rounds bench/e2e/settings.sh"
echo '```'
echo
python3 - "$work/settings.jsonl" "${settings[0]}" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = sys.argv[2]
loads = list(dict.fromkeys(r["load"] for r in rows))
settings = list(dict.fromkeys(r["setting"] for r in rows))
def med(setting, load, key):
    return statistics.median(r["parley"][key] for r in rows if r["setting"] == setting and r["load"] == load)
print("Median over the rounds; in brackets the ratio to `%s`." % base)
print()
print("| setting | " + " | ".join(f"{l}: replies/s | {l}: TTFT p50 ms | {l}: TTFT p99 ms" for l in loads) + " |")
print("|---|" + "---:|" * (3 * len(loads)))
for s in settings:
    cells = []
    for l in loads:
        for key in ("replies_per_s", "ttft_p50_ms", "ttft_p99_ms"):
            v, b = med(s, l, key), med(base, l, key)
            cells.append(f"{v:.1f} ({v / b:.2f})" if b else f"{v:.1f}")
    print(f"| `{s}` | " + " | ".join(cells) + " |")
EOF
