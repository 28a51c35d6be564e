#pragma once
// Configuration of the in-process llama.cpp backend. One struct, composed into the worker's own
// config; register_options() adds its flags (each with an environment variable) to the worker's
// command line.
#include <parley/worker/backend.hpp>

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
  // Defaults for requests; a request's own sampling_params override them field by field only
  // where the delivery logic sets them.
  sampling_params sampling;
  // Used when a request carries no system prompt of its own; chat-template models only.
  std::string system_prompt = "You are a helpful assistant.";
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
  // Benchmarks only (--ignore-eos): never sample an end-of-generation token, so every reply
  // is max_new_tokens long (as llama-batched-bench decodes a fixed count, and llama-server's
  // ignore_eos), unless a stop string ends it.
  bool ignore_eos = false;
};

// Adds the backend's flags to `app` in an option group "llama.cpp backend", bound to `config`
// (whose current values are the defaults shown by --help). Flags that `app` already has (say a
// shared --temperature registered by the worker) are skipped, so the caller stays in charge.
void register_options(CLI::App& app, llama_config& config);

}  // namespace parley::worker::local
