#pragma once
// Configuration of parley-worker: one struct with every setting and its default (the backends'
// own settings are in theirs). Each field is a flag and an environment variable (a `.env` file in
// the working directory fills variables that are not set). docs/worker.md has the table;
// `parley-worker --help` lists the same.
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

// Each field: its flag, what it sets, and its default (the initializer). The environment variable
// is the flag's name in capitals with _ for - (--lease-ttl: LEASE_TTL) unless named here.
struct worker_config {
  parley::redis::config redis;    // --redis-url: where Redis is; default redis://127.0.0.1:6379
  std::string consumer;           // --consumer WORKER_NAME: name in the consumer group; "": <hostname>-<pid>
  std::string backend = "local";  // --backend MODEL_BACKEND: local | openai | hf

  // Delivery timings. Invariant (checked by validate): heartbeat_interval * 2 <= lease_ttl <
  // claim_min_idle, so a live worker never loses its lease and a dead worker's lease has
  // expired before its entry can be claimed by another.
  milliseconds lease_ttl{10'000};          // --lease-ttl: session lease lifetime (10s)
  milliseconds heartbeat_interval{2'000};  // --heartbeat-interval: lease renewal while answering (2s)
  milliseconds claim_interval{5'000};      // --claim-interval: how often to XAUTOCLAIM (5s)
  milliseconds claim_min_idle{15'000};     // --claim-min-idle: a request idle this long is taken over (15s)
  milliseconds read_block{2'000};          // --read-block: XREADGROUP BLOCK (2s)
  // --consumer-expiry: request-stream upkeep, every claim_interval: entries every consumer has
  // acknowledged are trimmed, and consumers that own nothing and were not seen for this long
  // (workers that are gone) leave the group (10m). A live worker is seen at least every
  // read_block (validate asks for more than twice that).
  milliseconds consumer_expiry{600'000};
  int max_attempts = 3;                    // --max-attempts: generation attempts before dead-lettering
  milliseconds retry_backoff{500};         // --retry-backoff: wait before retrying a failed attempt (500ms)
  milliseconds redis_retry{500};           // --redis-retry: wait before reading again after a Redis failure
  // --presence-ttl: the worker's presence record (parley:workers) counts it alive this long after
  // each renewal, renewed every third of it; gateways tell clients when no worker is alive (10s).
  milliseconds presence_ttl{10'000};

  // Streaming: a delta event is written when either bound is reached.
  milliseconds flush_interval{50};      // --flush-interval: longest wait of a generated piece (50ms)
  int flush_tokens = 16;                // --flush-tokens: most pieces in one delta event
  long long event_retention = 1000;     // --event-retention: events kept per session (XADD MAXLEN ~)
  milliseconds session_ttl{3'600'000};  // --session-ttl: session expiry, as the gateway's (1h)

  int max_concurrent_turns = 4;         // --max-concurrent-turns: sessions answered at once
  // --request-shards REQUEST_SHARDS: request streams the queue is split into (docs/design.md,
  // "Request shards"); every gateway and worker of one Redis must use the same number (1).
  int request_shards = 1;
  milliseconds shutdown_grace{10'000};  // --shutdown-grace WORKER_SHUTDOWN_GRACE: SIGTERM, time to finish (10s)

  std::string metrics_host = "127.0.0.1";     // --metrics-host: address of /metrics and /healthz
  std::uint16_t metrics_port = 9400;          // --metrics-port: their port; 0 disables the endpoint
  milliseconds metrics_idle_timeout{30'000};  // --metrics-idle-timeout: idle scraper connections close (30s)

  // --system-prompt: sent with every request (models with a chat template); "": none.
  std::string system_prompt = "You are Parley, a helpful and concise assistant.";
  // --temperature, --top-p, --top-k, --max-new-tokens, --seed, --stop: every request's sampling;
  // defaults in sampling_params (backend.hpp).
  sampling_params sampling;

  std::string log_level = "info";  // --log-level: trace, debug, info, warn, error, critical, off
};

// Adds every worker flag (with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, worker_config& cfg);

// Checks ranges and the timing invariants; returns a message naming the offending setting.
std::optional<std::string> validate(const worker_config& cfg);

// The consumer name to use: cfg.consumer, or "<hostname>-<pid>".
std::string consumer_name(const worker_config& cfg);

}  // namespace parley::worker
