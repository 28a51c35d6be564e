#include <parley/worker/local/llama_config.hpp>

#include <CLI/CLI.hpp>

#include <string>

namespace parley::worker::local {

void register_options(CLI::App& app, llama_config& c) {
  auto* g = app.add_option_group("llama.cpp backend", "in-process model (MODEL_BACKEND=local)");
  auto add = [g](const std::string& flag, auto& value, const std::string& env, const std::string& help) {
    g->add_option(flag, value, help)->envname(env)->capture_default_str();
  };
  add("--model", c.model_path, "MODEL", "GGUF model file");
  add("--ctx-size", c.n_ctx, "CTX_SIZE", "context tokens per session (prompt + reply)");
  add("--parallel", c.n_parallel, "PARALLEL", "sequences decoded together / sessions kept cached");
  add("--batch-size", c.n_batch, "BATCH_SIZE", "tokens per decode call");
  add("--prefill-chunk", c.prefill_chunk, "PREFILL_CHUNK", "prompt tokens of one request per decode call");
  add("--threads", c.threads, "MODEL_THREADS", "CPU threads for inference (0: all)");
  add("--poll", c.poll, "MODEL_POLL",
      "0-100: how long inference threads spin for work before sleeping (0: never spin)");
  g->add_option("--flash-attn", c.flash_attn, "off, on or auto: llama.cpp's flash attention")
      ->envname("FLASH_ATTN")
      ->capture_default_str()
      ->check(CLI::IsMember({"off", "on", "auto"}));
  add("--reply-budget", c.reply_budget, "REPLY_BUDGET", "context tokens reserved for the reply");
  add("--trim-turns", c.trim_turns, "TRIM_TURNS",
      "trim a long history in blocks of this many user turns (keeps the KV cache reusable)");
  add("--chat-template", c.chat_template, "CHAT_TEMPLATE",
      "empty: the model's own template; 'transcript': Human:/Bot: form");
  add("--kv-reuse", c.kv_reuse, "KV_REUSE", "reuse a session's KV cache across turns");
  add("--shift-min-tokens", c.shift_min_tokens, "SHIFT_MIN_TOKENS",
      "shortest cached run moved left after trimming instead of prefilled again (0: never)");
  add("--host-cache-mib", c.host_cache_mib, "HOST_CACHE_MIB",
      "host memory for the KV state of evicted sessions, restored when they return (0: off)");
  add("--ignore-eos", c.ignore_eos, "IGNORE_EOS",
      "benchmarks and tests: never end a reply at the model's end token, only at --max-new-tokens");
}

std::optional<std::string> validate(const llama_config& c) {
  if (c.model_path.empty()) return "no model: set MODEL (or --model) to a GGUF file path";
  if (c.n_parallel < 1) return "--parallel must be at least 1";
  if (c.n_ctx < 16) return "--ctx-size must be at least 16";
  if (c.reply_budget < 1 || c.reply_budget >= c.n_ctx) return "--reply-budget must be at least 1 and below --ctx-size";
  if (c.n_batch < c.n_parallel) return "--batch-size must be at least --parallel";
  if (c.prefill_chunk < 1) return "--prefill-chunk must be at least 1";
  if (c.trim_turns < 1) return "--trim-turns must be at least 1";
  if (c.shift_min_tokens < 0) return "--shift-min-tokens must not be negative";
  if (c.host_cache_mib < 0) return "--host-cache-mib must not be negative";
  if (c.threads < 0) return "--threads must not be negative";
  if (c.poll < 0 || c.poll > 100) return "--poll must be between 0 and 100";
  if (c.flash_attn != "off" && c.flash_attn != "on" && c.flash_attn != "auto") {
    return "--flash-attn must be off, on or auto, not '" + c.flash_attn + "'";
  }
  if (!c.chat_template.empty() && c.chat_template != "transcript") {
    return "--chat-template must be empty or 'transcript'";
  }
  return std::nullopt;
}

}  // namespace parley::worker::local
