#include <parley/worker/local/llama_config.hpp>

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace parley::worker::local {

namespace {

template <typename T>
void add(CLI::App& app, CLI::Option_group& group, const std::string& flag, T& value,
         const std::string& env, const std::string& help) {
  if (app.get_option_no_throw(flag) != nullptr) return;
  group.add_option(flag, value, help)->envname(env)->capture_default_str();
}

}  // namespace

void register_options(CLI::App& app, llama_config& c) {
  auto* g = app.add_option_group("llama.cpp backend", "in-process model (MODEL_BACKEND=local)");
  add(app, *g, "--model", c.model_path, "MODEL", "GGUF model file");
  add(app, *g, "--ctx-size", c.n_ctx, "CTX_SIZE", "context tokens per session (prompt + reply)");
  add(app, *g, "--parallel", c.n_parallel, "PARALLEL", "sequences decoded together / sessions kept cached");
  add(app, *g, "--batch-size", c.n_batch, "BATCH_SIZE", "tokens per decode call");
  add(app, *g, "--prefill-chunk", c.prefill_chunk, "PREFILL_CHUNK", "prompt tokens of one request per decode call");
  add(app, *g, "--threads", c.threads, "MODEL_THREADS", "CPU threads for inference (0: all)");
  add(app, *g, "--system-prompt", c.system_prompt, "SYSTEM_PROMPT", "system prompt when the request has none");
  add(app, *g, "--reply-budget", c.reply_budget, "REPLY_BUDGET", "context tokens reserved for the reply");
  add(app, *g, "--trim-turns", c.trim_turns, "TRIM_TURNS",
      "trim a long history in blocks of this many user turns (keeps the KV cache reusable)");
  add(app, *g, "--chat-template", c.chat_template, "CHAT_TEMPLATE",
      "empty: the model's own template; 'transcript': Human:/Bot: form");
  add(app, *g, "--kv-reuse", c.kv_reuse, "KV_REUSE", "reuse a session's KV cache across turns");
  add(app, *g, "--ignore-eos", c.ignore_eos, "IGNORE_EOS",
      "benchmarks: never end a reply at an end-of-generation token (replies run to max-new-tokens)");
  add(app, *g, "--temperature", c.sampling.temperature, "TEMPERATURE", "sampling temperature (0: greedy)");
  add(app, *g, "--top-p", c.sampling.top_p, "TOP_P", "nucleus sampling threshold");
  add(app, *g, "--top-k", c.sampling.top_k, "TOP_K", "top-k sampling (0: off)");
  add(app, *g, "--max-new-tokens", c.sampling.max_new_tokens, "MAX_NEW_TOKENS", "reply length limit in tokens");
  if (app.get_option_no_throw("--seed") == nullptr) {
    g->add_option_function<std::uint32_t>(
         "--seed", [&c](const std::uint32_t& seed) { c.sampling.seed = seed; },
         "sampling seed (unset: random per request)")
        ->envname("SEED");
  }
  add(app, *g, "--stop", c.sampling.stop, "STOP", "extra stop strings");
}

}  // namespace parley::worker::local
