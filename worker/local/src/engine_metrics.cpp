#include "engine_metrics.hpp"

#include <parley/prometheus.hpp>

#include <fmt/format.h>

namespace parley::worker::local {

namespace {

using prometheus::header;

template <typename T>
void scalar(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            const std::atomic<T>& value) {
  header(out, name, type, help);
  out += fmt::format("{} {}\n", name, value.load(std::memory_order_relaxed));
}

}  // namespace

void engine_metrics::write(std::string& out) const {
  scalar(out, "parley_llama_requests_total", "counter", "generation requests received", requests);
  header(out, "parley_llama_finished_total", "counter", "generations finished, by reason");
  out += fmt::format("parley_llama_finished_total{{reason=\"stop\"}} {}\n", finished_stop.load());
  out += fmt::format("parley_llama_finished_total{{reason=\"length\"}} {}\n", finished_length.load());
  out += fmt::format("parley_llama_finished_total{{reason=\"cancelled\"}} {}\n",
                     finished_cancelled.load());
  out += fmt::format("parley_llama_finished_total{{reason=\"error\"}} {}\n", failed.load());
  scalar(out, "parley_llama_prompt_tokens_total", "counter", "prompt tokens prefilled", prompt_tokens);
  scalar(out, "parley_llama_cache_hit_tokens_total", "counter",
         "prompt tokens reused from a session's KV cache instead of prefilled", cached_tokens);
  scalar(out, "parley_llama_cache_shifted_tokens_total", "counter",
         "of the reused tokens: moved left (context shift) after the oldest turns were trimmed",
         shifted_tokens);
  scalar(out, "parley_llama_cache_spliced_tokens_total", "counter",
         "of the reused tokens: kept as generated where the prompt spells the same text", spliced_tokens);
  if (host_cache != nullptr) {
    const auto& h = *host_cache;
    scalar(out, "parley_llama_host_cache_bytes", "gauge", "bytes of evicted sessions' KV state held", h.bytes);
    scalar(out, "parley_llama_host_cache_sessions", "gauge", "evicted sessions whose KV state is held",
           h.entries);
    scalar(out, "parley_llama_host_cache_saved_total", "counter", "KV states of evicted sessions kept",
           h.saved);
    scalar(out, "parley_llama_host_cache_hits_total", "counter",
           "sessions coming back to a slot restored from the host cache", h.hits);
    scalar(out, "parley_llama_host_cache_misses_total", "counter",
           "sessions coming back to a slot with no state in the host cache", h.misses);
    scalar(out, "parley_llama_host_cache_dropped_total", "counter",
           "KV states dropped to stay within HOST_CACHE_MIB", h.dropped);
    scalar(out, "parley_llama_host_cache_restore_failures_total", "counter",
           "KV states llama.cpp refused to restore (the session was prefilled)", restore_failures);
  }
  scalar(out, "parley_llama_generated_tokens_total", "counter", "tokens generated", generated_tokens);
  scalar(out, "parley_llama_decode_calls_total", "counter", "llama_decode calls", decode_calls);
  scalar(out, "parley_llama_evictions_total", "counter",
         "idle sessions whose KV cache was dropped to make room", evictions);
  scalar(out, "parley_llama_active_sequences", "gauge", "requests holding a sequence slot",
         active_sequences);
  scalar(out, "parley_llama_waiting_requests", "gauge", "requests waiting for a sequence slot",
         waiting_requests);
  scalar(out, "parley_llama_batch_sequences_max", "gauge",
         "most sequences ever decoded in one llama_decode call", max_batch_sequences);
  batch_sequences.write(out, "parley_llama_batch_sequences", "sequences per llama_decode call");
  batch_tokens.write(out, "parley_llama_batch_tokens", "tokens per llama_decode call");
  queue_wait_seconds.write(out, "parley_llama_queue_wait_seconds",
                           "time from request to admission into a sequence slot");
  time_to_first_token_seconds.write(out, "parley_llama_time_to_first_token_seconds",
                                    "time from request to its first generated token");
}

}  // namespace parley::worker::local
