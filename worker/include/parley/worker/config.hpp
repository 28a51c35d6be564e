#pragma once
// Configuration of parley-worker: one struct with every setting and its default. Each field is
// a flag and an environment variable (a `.env` file in the working directory fills variables
// that are not set). docs/worker.md has the table; `parley-worker --help` lists the same.
#include <parley/redis/client.hpp>
#include <parley/worker/backend.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace parley::worker {

using std::chrono::milliseconds;

struct worker_config {
  parley::redis::config redis;  // --redis-url / REDIS_URL, default redis://127.0.0.1:6379
  // Consumer name in the consumer group and lease owner prefix; "" means "<hostname>-<pid>".
  std::string consumer;
  std::string backend = "local";  // MODEL_BACKEND: local | openai | hf

  // Delivery timings. Invariant (checked by validate): heartbeat_interval * 2 <= lease_ttl <
  // claim_min_idle, so a live worker never loses its lease and a dead worker's lease has
  // expired before its entry can be claimed by another.
  milliseconds lease_ttl{10'000};
  milliseconds heartbeat_interval{2'000};
  milliseconds claim_interval{5'000};
  milliseconds claim_min_idle{15'000};
  milliseconds read_block{2'000};       // XREADGROUP BLOCK
  int max_attempts = 3;                 // generation attempts before dead-lettering
  milliseconds retry_backoff{500};      // wait before retrying a failed attempt in-process
  milliseconds redis_retry{500};        // wait before reading again after a Redis failure

  // Streaming: a delta event is written when either bound is reached.
  milliseconds flush_interval{50};
  int flush_tokens = 16;
  long long event_retention = 1000;  // events kept per session (XADD MAXLEN ~)
  milliseconds session_ttl{3'600'000};

  int max_concurrent_turns = 4;  // sessions answered at once by this worker
  milliseconds shutdown_grace{10'000};  // SIGTERM: time running turns get to finish

  std::string metrics_host = "127.0.0.1";
  std::uint16_t metrics_port = 9400;  // 0 disables the endpoint
  milliseconds metrics_idle_timeout{30'000};  // keep-alive connections of scrapers

  std::string system_prompt = "You are Parley, a helpful and concise assistant.";
  sampling_params sampling;  // defaults of every request

  std::string log_level = "info";
};

// Adds every worker flag (with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, worker_config& cfg);

// Checks ranges and the timing invariants; returns a message naming the offending setting.
std::optional<std::string> validate(const worker_config& cfg);

// The consumer name to use: cfg.consumer, or "<hostname>-<pid>".
std::string consumer_name(const worker_config& cfg);

}  // namespace parley::worker
