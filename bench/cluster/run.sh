#!/usr/bin/env bash
# Standalone Redis against a 3-master + 3-replica Redis Cluster, same run: Parley as `make run`
# starts it (scripts/run.sh; with REDIS_CLUSTER=1 its private cluster and REQUEST_SHARDS=3), one
# worker with the local backend, driven by parley-bench-e2e with closed-loop conversations.
# Per setup: accepted messages/s, streamed tokens/s, ack and first-token times, and on every
# Redis node the commands it ran (INFO commandstats, reset after a warm-up) and the CPU it used
# (INFO cpu), per message and per token; then the same cluster with REDIS_WAIT_REPLICAS=1, whose
# ack time against the cluster's is what WAIT costs a message. Prints markdown
# (docs/bench/cluster.md records a run).
#
# Usage: bench/cluster/run.sh [BUILD_DIR]
#   env: CLUSTER_CONVERSATIONS (300), CLUSTER_TURNS (3), CLUSTER_REPLY_TOKENS (8), MODEL_THREADS
#   (every core), MODEL_POLL (50), CLUSTER_MODEL (stories260K, else the 58M bench model)
#
# As in bench/e2e: every reply is N tokens (IGNORE_EOS), and the per-session rate limit, queue
# bound and per-address limit are lifted, since one client on 127.0.0.1 plays every user.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/lib.sh"
build=$(bench_build_dir "${1:-}")
conversations=${CLUSTER_CONVERSATIONS:-300}
turns=${CLUSTER_TURNS:-3}
tokens=${CLUSTER_REPLY_TOKENS:-8}
threads=${MODEL_THREADS:-$(nproc)}
poll=${MODEL_POLL:-50}

build_stack_tools "$build"
model=$(bench_model "$build" "${CLUSTER_MODEL:-}")
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d /tmp/parley-bench-cluster-XXXXXX)
parley_pid=""
trap 'stop_parley_stack; rm -rf "$work"' EXIT

# Every node's counters, as JSON: {port: {"role": ..., "calls": {command: n}, "cpu": seconds}}.
node_stats() {  # PORT...
  python3 - "$@" <<'PY'
import json, subprocess, sys
out = {}
for port in sys.argv[1:]:
    def info(section):
        text = subprocess.run(["redis-cli", "-p", port, "INFO", section], capture_output=True, text=True, check=True).stdout
        return dict(l.split(":", 1) for l in text.splitlines() if ":" in l and not l.startswith("#"))
    calls = {}
    for k, v in info("commandstats").items():
        fields = dict(f.split("=") for f in v.split(","))
        calls[k[len("cmdstat_"):]] = int(fields["calls"])
    cpu = info("cpu")
    role = info("replication")["role"]
    out[port] = {"role": role, "calls": calls,
                 "cpu": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])}
print(json.dumps(out))
PY
}

declare -A results
run_setup() {  # NAME PORTS... (STACK_ENV set by the caller)
  local name=$1
  shift
  mkdir -p "$work/$name"
  start_parley_stack "$work/$name" "$build" "$model" "$tokens" "$threads" "$poll"
  local ports=("$@") p
  # A fresh cluster's replicas finish their first sync a moment after the system is up; until
  # then WAIT would refuse every message.
  for p in "${ports[@]}"; do
    for _ in $(seq 1 300); do
      redis-cli -p "$p" INFO replication | grep -Eq '^role:master|^master_link_status:up' && break
      sleep 0.1
    done
  done
  # Right after the start a replica may still be busy with its first sync or AOF rewrite, and a
  # WAIT times out (the bench client does not resend): one more warm-up once it settled.
  if ! "$bench" --target parley --port "$gw_port" --conversations 20 --turns 2 --run-id "warm-$name" >"$work/warm-$name.json" 2>&1 &&
     ! "$bench" --target parley --port "$gw_port" --conversations 20 --turns 2 --run-id "warm2-$name" >"$work/warm-$name.json" 2>&1; then
    echo "warm-up on $name failed:" >&2
    cat "$work/warm-$name.json" >&2
    tail -30 "$work/$name"/parley-*.log >&2
    return 1
  fi
  for p in "${ports[@]}"; do redis-cli -p "$p" CONFIG RESETSTAT >/dev/null; done
  local before after
  before=$(node_stats "${ports[@]}")
  results[$name.load]=$(cut -d' ' -f1-3 /proc/loadavg)
  results[$name.run]=$("$bench" --target parley --port "$gw_port" --conversations "$conversations" --turns "$turns" \
    --run-id "run-$name" --count-metric "http://127.0.0.1:$worker_metrics/metrics" parley_llama_generated_tokens_total)
  after=$(node_stats "${ports[@]}")
  results[$name.before]=$before
  results[$name.after]=$after
  results[$name.env]="${parley_env[*]}"
  stop_parley_stack
}

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

port=$(free_port)
STACK_ENV=(REDIS_PORT="$port")
run_setup standalone "$port"

base=$(free_port_run 6)
STACK_ENV=(REDIS_CLUSTER=1 REDIS_PORT="$base" REDIS_BUS_PORT=$((base + 10000)))
run_setup cluster $(seq "$base" $((base + 5)))

base=$(free_port_run 6)
STACK_ENV=(REDIS_CLUSTER=1 REDIS_PORT="$base" REDIS_BUS_PORT=$((base + 10000)) REDIS_WAIT_REPLICAS=1)
run_setup cluster_wait $(seq "$base" $((base + 5)))

echo "### Standalone Redis against a 3 + 3 Redis Cluster ($(basename "$model"), $tokens-token replies, $conversations conversations x $turns turns)"
echo
echo "Machine: $(nproc) CPUs, $started; load average $load_start at the start."
echo
echo '```'
for name in standalone cluster cluster_wait; do
  echo "env -i PATH=... VAR_DIR=<tmp> ${results[$name.env]} scripts/run.sh"
done
echo "$bench --target parley --port <gateway> --conversations $conversations --turns $turns --run-id R --count-metric http://127.0.0.1:<worker metrics>/metrics parley_llama_generated_tokens_total"
echo '```'
echo
python3 - <<PY
import json
names = ["standalone", "cluster", "cluster_wait"]
label = {"standalone": "standalone", "cluster": "cluster (3 masters, REQUEST_SHARDS=3)",
         "cluster_wait": "cluster + REDIS_WAIT_REPLICAS=1"}
runs = {n: json.loads(s) for n, s in zip(names, [r'''${results[standalone.run]}''', r'''${results[cluster.run]}''', r'''${results[cluster_wait.run]}'''])}
before = {n: json.loads(s) for n, s in zip(names, [r'''${results[standalone.before]}''', r'''${results[cluster.before]}''', r'''${results[cluster_wait.before]}'''])}
after = {n: json.loads(s) for n, s in zip(names, [r'''${results[standalone.after]}''', r'''${results[cluster.after]}''', r'''${results[cluster_wait.after]}'''])}
load = {"standalone": "${results[standalone.load]}", "cluster": "${results[cluster.load]}", "cluster_wait": "${results[cluster_wait.load]}"}
# The bench's own INFO/CONFIG calls are not Parley's.
ours = lambda cmd: cmd not in ("info", "config|resetstat", "config")

def node_rows(n):
    rows = []
    for port, a in after[n].items():
        b = before[n][port]
        calls = sum(v - b["calls"].get(k, 0) for k, v in a["calls"].items() if ours(k))
        rows.append((port, a["role"], calls, a["cpu"] - b["cpu"], {k: v - b["calls"].get(k, 0) for k, v in a["calls"].items() if ours(k)}))
    return rows

print("| Redis | messages/s | tokens/s | ack p50 ms | ack p99 ms | first token p50 ms | p99 ms | waiting for a slot p50 ms | worker before the model p50 ms | model p50 ms | errors | load before |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for n in names:
    r = runs[n]
    tps = r.get("tokens", 0) / r["seconds"]
    st = r.get("stages", {})
    stage = lambda k: st.get(k, {}).get("p50_ms", float("nan"))
    print(f"| {label[n]} | {r['replies_per_s']:.1f} | {tps:.0f} | {r.get('ack_p50_ms', float('nan')):.2f} | {r.get('ack_p99_ms', float('nan')):.2f} | "
          f"{r['ttft_p50_ms']:.1f} | {r['ttft_p99_ms']:.1f} | {stage('to_worker'):.1f} | {stage('prepare'):.2f} | {stage('model'):.1f} | {r['errors']} | {load[n]} |")
print()
ratio = runs["cluster"]["replies_per_s"] / runs["standalone"]["replies_per_s"]
print(f"Cluster over standalone, messages/s: {ratio:.2f}. WAIT 1 on the cluster: ack p50 "
      f"{runs['cluster_wait'].get('ack_p50_ms', 0) - runs['cluster'].get('ack_p50_ms', 0):+.2f} ms, first token p50 "
      f"{runs['cluster_wait']['ttft_p50_ms'] - runs['cluster']['ttft_p50_ms']:+.1f} ms, messages/s "
      f"{runs['cluster_wait']['replies_per_s'] / runs['cluster']['replies_per_s']:.2f}x (two WAITs per message: after the accept script and after the XADD).")
print()
print("Redis commands per node during the run (INFO commandstats; a script counts once for EVALSHA and once for each command it runs; replicas count what they apply from their master):")
print()
print("| Redis | node | role | commands | per message | per token | share of the masters' | CPU ms | CPU µs per message |")
print("|---|---|---|---|---|---|---|---|---|")
for n in names:
    r = runs[n]
    msgs = max(r["replies"], 1)
    toks = max(r.get("tokens", 0), 1)
    rows = node_rows(n)
    master_total = sum(c for _, role, c, _, _ in rows if role == "master") or 1
    for port, role, calls, cpu, _ in rows:
        share = f"{calls / master_total:.1%}" if role == "master" else ""
        print(f"| {label[n]} | {port} | {role} | {calls} | {calls / msgs:.1f} | {calls / toks:.2f} | {share} | {cpu * 1000:.0f} | {cpu * 1e6 / msgs:.0f} |")
print()
for n in ("cluster", "cluster_wait"):
    rows = [x for x in node_rows(n) if x[1] == "master"]
    total = sum(x[2] for x in rows) or 1
    top = max(rows, key=lambda x: x[2])
    print(f"{label[n]}: the busiest master ran {top[2] / total:.1%} of the masters' commands (target: at most 1/3 + 10% = 43.3%; "
          f"1/3 x 1.1 = 36.7% in the strict reading).")
print()
# Which commands, on the standalone node (the same ones spread over the masters on the cluster).
_, _, calls, _, per = node_rows("standalone")[0]
msgs = max(runs["standalone"]["replies"], 1)
top = sorted(per.items(), key=lambda kv: -kv[1])[:12]
print("Standalone, per message: " + ", ".join(f"{k} {v / msgs:.2f}" for k, v in top if v > 0) + ".")
print()
# Sizing: Redis CPU per message on the standalone node, all of it (the node did nothing else).
_, _, _, cpu, _ = node_rows("standalone")[0]
us = cpu * 1e6 / msgs
print(f"Sizing: one standalone Redis spent {us:.0f} µs of CPU per message with its {runs['standalone'].get('tokens_per_reply', 0):.0f}-token reply, "
      f"so one Redis core carries about {1e6 / us:.0f} such messages/s at 100% (plan for half: {0.5e6 / us:.0f}/s).")
PY
