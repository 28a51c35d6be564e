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
