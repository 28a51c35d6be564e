#pragma once
// Everything parley-gateway can be told, with its defaults. Each field has a flag and an
// environment variable (docs/configuration.md lists them); `.env` in the working directory is
// read first, and variables already set win over it.
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

struct gateway_config {
  // Network.
  std::string host = "127.0.0.1";
  std::uint16_t port = 3500;
  unsigned threads = 0;  // 0: one per CPU core
  parley::redis::config redis;  // --redis-url, default redis://127.0.0.1:6379
  // Prometheus endpoint (GET /metrics) on its own address, kept off the public port; 0: none.
  std::string metrics_host = "127.0.0.1";
  std::uint16_t metrics_port = 0;
  milliseconds metrics_idle_timeout{30000};  // keep-alive connections of scrapers

  // Sessions.
  seconds session_ttl{3600};
  std::size_t event_retention = 1000;  // MAXLEN ~ of each session's event stream

  // Browsers: cross-site Origins allowed for WebSocket and CORS ("*" allows any). Same-origin
  // requests, requests without Origin and (unless disabled) localhost origins are always allowed.
  std::vector<std::string> allowed_origins;
  bool allow_localhost_origins = true;
  std::string static_dir = "web/dist";

  // Limits.
  std::size_t max_message_chars = 8000;
  std::size_t max_frame_bytes = 64 * 1024;
  std::size_t max_body_bytes = 16 * 1024;
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_send_queue_bytes = 1024 * 1024;
  std::size_t max_connections_per_ip = 256;
  double rate_burst = 10;         // token bucket capacity per session
  double rate_per_second = 1;     // refill rate
  std::size_t max_queue = 1000;   // request-queue depth at which new messages get `busy`

  // Timing.
  milliseconds http_timeout{30000};          // reading one request / keep-alive idle
  milliseconds ws_handshake_timeout{10000};
  milliseconds ws_idle_timeout{60000};       // no frame and no pong for this long: closed
  milliseconds queue_sample_interval{1000};
  milliseconds busy_retry_after{2000};
  milliseconds shutdown_grace{3000};

  std::string log_level = "info";
};

// Adds every flag (with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, gateway_config& cfg);
// Ranges and cross-field checks after parsing: a message naming the bad setting, or nullopt.
std::optional<std::string> validate(const gateway_config& cfg);

}  // namespace parley::gateway
