#pragma once
// Everything parley-gateway can be told, with its defaults: one struct. Each field has a flag and
// an environment variable, the flag's name in capitals with _ for - unless named otherwise below
// (docs/configuration.md lists them all; --help too); `.env` in the working directory is read
// first, and variables already set win over it.
#include <parley/redis/client.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::gateway {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Each field: its flag and environment variable, what it sets, and its default (the initializer).
struct gateway_config {
  // Network.
  std::string host = "127.0.0.1";  // --host HOST: address to listen on (0.0.0.0: every interface)
  std::uint16_t port = 3500;       // --port PORT: TCP port of the API, the WebSocket and the web client
  unsigned threads = 0;            // --threads THREADS: I/O threads; 0, the default: one per CPU core
  parley::redis::config redis;     // --redis-url REDIS_URL: where Redis is; default redis://127.0.0.1:6379
  // Prometheus endpoint (GET /metrics, /healthz), on its own address so it stays off the public
  // port; its variables are GATEWAY_METRICS_HOST, _PORT and _IDLE_TIMEOUT.
  std::string metrics_host = "127.0.0.1";    // --metrics-host
  std::uint16_t metrics_port = 0;            // --metrics-port; 0, the default: no endpoint
  milliseconds metrics_idle_timeout{30000};  // --metrics-idle-timeout: idle scraper connections close (30s)

  // Sessions.
  seconds session_ttl{3600};           // --session-ttl SESSION_TTL: idle time before expiry (1h); use slides it
  std::size_t event_retention = 1000;  // --event-retention EVENT_RETENTION: events kept per session (MAXLEN ~)
  // Conversations of a person (POST /api/conversations; docs/protocol.md, "Conversations").
  seconds conversation_ttl{30 * 24 * 3600};  // --conversation-ttl CONVERSATION_TTL: idle time before one expires (30d)
  std::size_t max_conversations = 1000;          // --max-conversations: conversations one person may hold
  std::size_t max_conversation_messages = 1000;  // --max-conversation-messages: messages (theirs and replies) in one

  // Browsers: same-origin requests, requests without Origin and (unless disabled) localhost
  // origins are always allowed.
  std::vector<std::string> allowed_origins;  // --allowed-origins ALLOWED_ORIGINS: cross-site ones ("*": any); none
  bool allow_localhost_origins = true;       // --allow-localhost-origins ALLOW_LOCALHOST_ORIGINS
  std::string static_dir = "web/dist";       // --static-dir STATIC_DIR: folder served at / (the web client)

  // Limits.
  std::size_t max_message_chars = 8000;            // --max-message-chars: longest chat message
  std::size_t max_frame_bytes = 64 * 1024;         // --max-frame-bytes: largest WebSocket message (else 1009)
  std::size_t max_body_bytes = 16 * 1024;          // --max-body-bytes: largest HTTP body (else 413)
  std::size_t max_header_bytes = 8 * 1024;         // --max-header-bytes: largest HTTP head (else 431)
  std::size_t max_send_queue_bytes = 1024 * 1024;  // --max-send-queue-bytes: unsent bytes before "too slow"
  std::size_t max_connections_per_ip = 256;        // --max-connections-per-ip: open connections, from accept (else 429)
  // --max-connections: open connections in all; 0, the default: the descriptor limit (RLIMIT_NOFILE,
  // raised to its hard limit at start) minus reserved_descriptors, kept for Redis, files and the
  // listener, so one flood can never leave the gateway without descriptors (else 503).
  std::size_t max_connections = 0;
  std::size_t reserved_descriptors = 64;           // --reserved-descriptors
  double rate_burst = 10;                          // --rate-burst: token bucket capacity per session
  double rate_per_second = 1;                      // --rate-per-second: its refill rate
  std::size_t max_queue = 1000;                    // --max-queue: request-queue depth at which messages get busy
  // --request-shards REQUEST_SHARDS: request streams the queue is split into (docs/design.md,
  // "Request shards"); every gateway and worker of one Redis must use the same number (1).
  int request_shards = 1;
  // --redis-wait-replicas: a message is acked only once Redis WAIT says this many replicas hold
  // it and its request entry (0, the default: once the master has them). See docs/configuration.md.
  int wait_replicas = 0;

  // Timing.
  milliseconds http_timeout{30000};           // --http-timeout: keep-alive idle; reading a body (30s)
  // --http-header-timeout: a connection must deliver a whole request head this soon after it opens
  // (or after the first byte of a later request): 408 otherwise (10s). At most http_timeout (the
  // smaller applies), so half-sent heads cannot hold descriptors for long.
  milliseconds http_header_timeout{10000};
  // --lingering-time: after an error answer (400, 408, 413, 431) the rest of the request is read
  // and dropped for at most this long, so a client that sends everything before reading sees the
  // answer instead of a reset (a "lingering close", as nginx does) (5s).
  milliseconds lingering_time{5000};
  milliseconds refusal_write_timeout{1000};   // writing the 429/503 to a connection refused at accept (1s)
  milliseconds ws_handshake_timeout{10000};   // --ws-handshake-timeout: upgrade and close handshakes (10s)
  milliseconds ws_idle_timeout{60000};        // --ws-idle-timeout: pinged at half, closed at all of it (60s)
  milliseconds queue_sample_interval{1000};   // --queue-sample-interval: request-queue depth sampling (1s)
  milliseconds busy_retry_after{2000};        // --busy-retry-after: retry_after_ms sent with busy (2s)
  milliseconds replay_retry{1000};            // --replay-retry: a failed event replay (Redis down) is retried (1s)
  milliseconds shutdown_grace{3000};          // --shutdown-grace: SIGTERM, time for WebSockets to close (3s)
  milliseconds wait_timeout{500};             // --redis-wait-timeout: how long each WAIT may take (500ms)

  std::string log_level = "info";  // --log-level LOG_LEVEL: trace, debug, info, warn, error, critical, off
};

// Adds every flag (with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, gateway_config& cfg);
// Ranges and cross-field checks after parsing: a message naming the bad setting, or nullopt.
std::optional<std::string> validate(const gateway_config& cfg);

}  // namespace parley::gateway
