#pragma once
// Configuration of the in-process llama.cpp backend. One struct beside the worker's own config;
// register_options() adds its flags (each with an environment variable) to the worker's command
// line. Sampling and the system prompt are not here: every request carries them (the worker's
// --temperature, --system-prompt... in worker_config).
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace parley::worker::local {

struct llama_config {
  // A local GGUF file. `hf:` sources are resolved to a local path by the worker before the
  // backend is loaded (worker/fetch).
  std::string model_path;
  // Context of ONE session in tokens (prompt plus reply). llama.cpp rounds it up to a multiple
  // of 256; the KV cache holds n_ctx * n_parallel cells.
  int n_ctx = 2048;
  // Sequences decoded together; also the number of sessions whose KV cache stays resident.
  int n_parallel = 4;
  // Tokens per llama_decode call (decode tokens of running replies plus prefill chunks).
  int n_batch = 512;
  // At most this many prompt tokens of one request per decode call, so a long prompt never
  // stalls the replies that are already streaming.
  int prefill_chunk = 128;
  // CPU threads for decoding; 0 means every hardware thread.
  int threads = 0;
  // How long ggml's threads spin for the next piece of work before they sleep, 0 (never: they
  // leave the cores to the gateway and Redis on a shared box) to 100 (the longest); ggml's and
  // llama-server's default is 50. The threads are one pool for the worker's life.
  int poll = 50;
  // llama.cpp's flash attention: "off", "on" or "auto" (llama.cpp decides; on for the CPU).
  // Off by default, from measurement (docs/bench/e2e.md, "Flash attention"): on a CPU, ggml's
  // flash-attention kernel handles a sequence's rows one at a time below 64 rows (the prompt of
  // a returning conversation, every generated token), several times slower at a long context
  // than the plain attention matrix products, which decoded turns faster on both bench models.
  std::string flash_attn = "off";
  // Tokens kept free for the reply: the prompt budget is n_ctx - reply_budget, filled with the
  // newest turns that fit.
  int reply_budget = 256;
  // When the history must be trimmed, it is cut at every trim_turns-th user turn only, so the
  // kept prefix (and its KV cache) stays the same for several turns instead of shifting, and
  // being prefilled again, on every turn. 1: keep as many turns as fit.
  int trim_turns = 4;
  // Empty: the model's own chat template when it has one, else the transcript form.
  // "transcript": always the seed's "Human: ...\nBot:" form.
  std::string chat_template;
  // Keep a session's KV cache after its turn and prefill only the new tokens next time.
  bool kv_reuse = true;
  // When trimming dropped the oldest turns, the kept turns are still in the cache, further
  // right: a run of at least this many equal tokens is moved left (llama.cpp's K-shift, as
  // llama-server's context shift) instead of being prefilled again. 0: never shift.
  int shift_min_tokens = 16;
  // Host memory (MiB) for the KV state of sessions evicted from their slot: a returning session
  // is restored from it instead of prefilled again, the least recently evicted dropped first.
  // 0: off. Each state costs about the KV cache of its tokens (see /metrics).
  int host_cache_mib = 2048;
  // Benchmarks and tests: never sample an end-of-generation token, so every reply runs to
  // max_new_tokens (or the context's end), as llama-batched-bench decodes a fixed count, and a
  // test can count on a reply that is still running.
  bool ignore_eos = false;
};

// Adds the backend's flags to `app` in an option group "llama.cpp backend", bound to `config`
// (whose current values are the defaults shown by --help).
void register_options(CLI::App& app, llama_config& config);

// Ranges and cross-field checks: a message naming the bad setting, or nullopt. load() refuses an
// invalid config with llama_errc::invalid_config.
std::optional<std::string> validate(const llama_config& config);

}  // namespace parley::worker::local
