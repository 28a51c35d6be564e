# Helpers shared by the benchmark scripts (bench/*/run.sh source this file).

# A free TCP port on the loopback interface.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Waits up to 60 s until http://127.0.0.1:PORT/PATH answers 2xx.
wait_http() {
  for _ in $(seq 1 600); do
    curl -fsS "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "service on port $1 did not come up" >&2
  return 1
}

# The 58M-parameter random-weight bench model (512 wide, 8 layers, 32000-token vocabulary, ChatML
# template): the transformer, not the output layer, costs most, as in a real model, and it is
# generated offline. Written once into BUILD/models; prints its path.
bench_small_model() {
  local build=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local model=$build/models/bench-small.gguf
  if [ ! -f "$model" ]; then
    mkdir -p "$build/models"
    "$build/tools/make_tiny_model/parley-make-tiny-model" \
      --vocab "$root/build/llama.cpp/models/ggml-vocab-llama-spm.gguf" --output "$model" \
      --chat-template chatml --embd 512 --layers 8 --heads 8 --kv-heads 4 --ff 1536 >&2
  fi
  echo "$model"
}

# stories260K (a real 260K-parameter model) when the machine has it; prints nothing otherwise.
stories_model() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local model=$root/../shared/models/stories260K.gguf
  if [ -f "$model" ]; then realpath "$model"; fi
}

port_free() { python3 -c "import socket,sys; s=socket.socket(); s.bind(('127.0.0.1', $1))" 2>/dev/null; }

# The first of N consecutive free ports whose cluster bus ports (+ 10000) are free too; below
# 55535 so that every bus port is valid.
free_port_run() {  # N
  local n=$1 base i
  while :; do
    base=$((20000 + RANDOM % 30000))
    for ((i = 0; i < n; i++)); do
      port_free $((base + i)) && port_free $((base + i + 10000)) || continue 2
    done
    echo "$base"
    return 0
  done
}

# Parley exactly as scripts/run.sh starts it, from a clean environment (so that nothing the
# caller exported changes a default), on free ports with its state in WORK/state. Worker 1
# serves /metrics on METRICS_PORT_BASE + 1. Sets gw_port, worker_metrics, parley_pid and
# parley_env (for the report). Every reply is REPLY_TOKENS tokens (IGNORE_EOS), and the
# per-session rate limit, queue bound and per-address limit are lifted: one client on 127.0.0.1
# plays every user, at a pace no single user has.
# STACK_ENV (an array, optional) adds settings, e.g. (REDIS_CLUSTER=1 REDIS_PORT=...); a
# REDIS_PORT there replaces the free port chosen here.
start_parley_stack() {  # WORK BUILD MODEL REPLY_TOKENS THREADS POLL
  local work=$1 build=$2 model=$3 tokens=$4 threads=$5 poll=$6 root metrics_base redis_port kv
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  gw_port=$(free_port)
  while :; do metrics_base=$(free_port); port_free $((metrics_base + 1)) && break; done
  worker_metrics=$((metrics_base + 1))
  redis_port=$(free_port)
  for kv in ${STACK_ENV[@]+"${STACK_ENV[@]}"}; do [[ $kv == REDIS_PORT=* ]] && redis_port=${kv#REDIS_PORT=}; done
  parley_env=(PORT="$gw_port" REDIS_PORT="$redis_port" METRICS_PORT_BASE="$metrics_base"
              MODEL="$model" MODEL_THREADS="$threads" MODEL_POLL="$poll" MAX_NEW_TOKENS="$tokens" IGNORE_EOS=true
              RATE_BURST=1000000000 RATE_PER_SECOND=1000000000 MAX_QUEUE=1000000000 MAX_CONNECTIONS_PER_IP=1000000)
  for kv in ${STACK_ENV[@]+"${STACK_ENV[@]}"}; do [[ $kv == REDIS_PORT=* ]] || parley_env+=("$kv"); done
  env -i PATH="$PATH" HOME="$HOME" VAR_DIR="$work/state" BUILD_DIR="$build" "${parley_env[@]}" \
    "$root/scripts/run.sh" >"$work/parley-$gw_port.log" 2>&1 &
  parley_pid=$!
  wait_http "$gw_port" /readyz
  wait_http "$worker_metrics" /healthz
}

# The build directory a bench script was given (ARG, else BUILD_DIR, else build/parley), as an
# absolute path.
bench_build_dir() {  # [ARG]
  local root build
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build=${1:-${BUILD_DIR:-build/parley}}
  [[ "$build" = /* ]] || build=$root/$build
  realpath -m "$build"
}

# Configures BUILD when it is not yet, builds what start_parley_stack and parley-bench-e2e need
# and sets bench to the load generator's path.
build_stack_tools() {  # BUILD
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  [ -f "$1/CMakeCache.txt" ] || cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$1" -j"$(nproc)" --target parley-bench-e2e parley-gateway parley-worker parley-make-tiny-model >/dev/null
  bench=$1/bench/e2e/parley-bench-e2e
}

# MODEL when given, else stories260K when the machine has it, else the 58M bench model.
bench_model() {  # BUILD [MODEL]
  if [ -n "${2:-}" ]; then echo "$2"; return; fi
  local m
  m=$(stories_model)
  [ -n "$m" ] || m=$(bench_small_model "$1")
  echo "$m"
}

# Stops the stack start_parley_stack started, if any.
stop_parley_stack() {
  if [ -n "${parley_pid:-}" ]; then kill -TERM "$parley_pid" 2>/dev/null || true; wait "$parley_pid" 2>/dev/null || true; fi
  parley_pid=""
}
