#pragma once
// Counters of the llama.cpp scheduler, written by the scheduler thread and read by the metrics
// endpoint's thread. Atomics only (relaxed: each value is independent and monotone or a gauge).
#include "state_store.hpp"

#include <parley/prometheus.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::worker::local {

struct engine_metrics {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> finished_stop{0};
  std::atomic<std::uint64_t> finished_length{0};
  std::atomic<std::uint64_t> finished_cancelled{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> prompt_tokens{0};  // prompt tokens actually prefilled
  std::atomic<std::uint64_t> cached_tokens{0};  // prompt tokens reused from the KV cache
  std::atomic<std::uint64_t> shifted_tokens{0};  // of cached_tokens: moved left after trimming
  std::atomic<std::uint64_t> spliced_tokens{0};  // of cached_tokens: same text, tokens as generated
  std::atomic<std::uint64_t> restore_failures{0};  // host states llama.cpp refused to load
  std::atomic<std::uint64_t> generated_tokens{0};
  std::atomic<std::uint64_t> decode_calls{0};
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::int64_t> active_sequences{0};  // requests holding a slot
  std::atomic<std::int64_t> waiting_requests{0};  // requests waiting for a slot
  std::atomic<std::int64_t> max_batch_sequences{0};
  prometheus::histogram<6> batch_sequences{{1, 2, 4, 8, 16, 32}};
  prometheus::histogram<8> batch_tokens{{1, 8, 32, 64, 128, 256, 512, 1024}};
  prometheus::histogram<9> queue_wait_seconds{{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}};
  prometheus::histogram<9> time_to_first_token_seconds{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5}};

  const state_store_counters* host_cache = nullptr;  // set by the engine, outlives the metrics

  void write(std::string& out) const;
};

inline double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace parley::worker::local
