#include <parley/cli.hpp>
#include <parley/gateway/config.hpp>

#include <parley/keys.hpp>
#include <parley/logging.hpp>

namespace parley::gateway {

void register_options(CLI::App& app, gateway_config& c) {
  app.add_option("--host", c.host, "Address to listen on")->envname("HOST")->capture_default_str();
  app.add_option("--port", c.port, "TCP port")->envname("PORT")->capture_default_str();
  app.add_option("--threads", c.threads, "I/O threads (0: one per core)")->envname("THREADS")->capture_default_str();
  add_redis_url_option(app, c.redis, "Redis to connect to");
  app.add_option("--metrics-host", c.metrics_host, "Address of the Prometheus endpoint")
      ->envname("GATEWAY_METRICS_HOST")
      ->capture_default_str();
  app.add_option("--metrics-port", c.metrics_port, "Port of the Prometheus endpoint (/metrics); 0: none")
      ->envname("GATEWAY_METRICS_PORT")
      ->capture_default_str();
  add_duration_option(app, "--metrics-idle-timeout", c.metrics_idle_timeout,
                      "Idle keep-alive connections to /metrics are closed after it", "GATEWAY_METRICS_IDLE_TIMEOUT");
  add_duration_option(app, "--session-ttl", c.session_ttl, "Idle time after which a session expires",
                      "SESSION_TTL");
  add_duration_option(app, "--conversation-ttl", c.conversation_ttl,
                      "Idle time after which a person's conversation expires", "CONVERSATION_TTL",
                      std::chrono::hours(24));
  app.add_option("--max-conversations", c.max_conversations, "Conversations one person may hold")
      ->envname("MAX_CONVERSATIONS")
      ->capture_default_str();
  app.add_option("--max-conversation-messages", c.max_conversation_messages,
                 "Messages (a person's and the replies) one conversation may hold")
      ->envname("MAX_CONVERSATION_MESSAGES")
      ->capture_default_str();
  app.add_option("--event-retention", c.event_retention, "Events kept per session for resume")
      ->envname("EVENT_RETENTION")
      ->capture_default_str();
  app.add_option("--allowed-origins", c.allowed_origins,
                 "Cross-site Origins allowed (comma-separated; * for any)")
      ->envname("ALLOWED_ORIGINS")
      ->delimiter(',');
  app.add_option("--allow-localhost-origins", c.allow_localhost_origins,
                 "Allow http(s)://localhost, 127.0.0.1 and [::1] Origins on any port")
      ->envname("ALLOW_LOCALHOST_ORIGINS")
      ->capture_default_str();
  app.add_option("--static-dir", c.static_dir, "Folder served at / (the built web client)")
      ->envname("STATIC_DIR")
      ->capture_default_str();
  app.add_option("--max-message-chars", c.max_message_chars, "Longest chat message, in characters")
      ->envname("MAX_MESSAGE_CHARS")
      ->capture_default_str();
  app.add_option("--max-frame-bytes", c.max_frame_bytes, "Largest WebSocket message (bigger: close 1009)")
      ->envname("MAX_FRAME_BYTES")
      ->capture_default_str();
  app.add_option("--max-body-bytes", c.max_body_bytes, "Largest HTTP request body (bigger: 413)")
      ->envname("MAX_BODY_BYTES")
      ->capture_default_str();
  app.add_option("--max-header-bytes", c.max_header_bytes, "Largest HTTP request head (bigger: 431)")
      ->envname("MAX_HEADER_BYTES")
      ->capture_default_str();
  app.add_option("--max-send-queue-bytes", c.max_send_queue_bytes,
                 "Unsent bytes queued for one WebSocket before it is closed as too slow")
      ->envname("MAX_SEND_QUEUE_BYTES")
      ->capture_default_str();
  app.add_option("--max-connections-per-ip", c.max_connections_per_ip, "Open connections allowed per client address")
      ->envname("MAX_CONNECTIONS_PER_IP")
      ->capture_default_str();
  app.add_option("--max-connections", c.max_connections,
                 "Open connections in all (0: the descriptor limit minus --reserved-descriptors)")
      ->envname("MAX_CONNECTIONS")
      ->capture_default_str();
  app.add_option("--reserved-descriptors", c.reserved_descriptors,
                 "File descriptors kept free of client connections (Redis, files)")
      ->envname("RESERVED_DESCRIPTORS")
      ->capture_default_str();
  app.add_option("--rate-burst", c.rate_burst, "Messages a session may send at once (token bucket size)")
      ->envname("RATE_BURST")
      ->capture_default_str();
  app.add_option("--rate-per-second", c.rate_per_second, "Sustained messages per second per session")
      ->envname("RATE_PER_SECOND")
      ->capture_default_str();
  app.add_option("--max-queue", c.max_queue, "Request-queue depth at which messages are refused with busy")
      ->envname("MAX_QUEUE")
      ->capture_default_str();
  app.add_option("--request-shards", c.request_shards,
                 "Request streams the queue is split into; the same on every gateway and worker")
      ->envname("REQUEST_SHARDS")
      ->check(CLI::Range(1, keys::max_request_shards))
      ->capture_default_str();
  app.add_option("--redis-wait-replicas", c.wait_replicas,
                 "Ack a message only once this many replicas hold it (Redis WAIT); 0: once the master does")
      ->envname("REDIS_WAIT_REPLICAS")
      ->capture_default_str();
  add_duration_option(app, "--redis-wait-timeout", c.wait_timeout,
                      "How long each WAIT for --redis-wait-replicas may take", "REDIS_WAIT_TIMEOUT");
  add_duration_option(app, "--http-timeout", c.http_timeout, "Keep-alive idle time; time to read a request body",
                      "HTTP_TIMEOUT");
  add_duration_option(app, "--http-header-timeout", c.http_header_timeout,
                      "Time to send a whole request head (408 after it)", "HTTP_HEADER_TIMEOUT");
  add_duration_option(app, "--lingering-time", c.lingering_time,
                      "After an error answer, how long the rest of the request is read and dropped",
                      "LINGERING_TIME");
  add_duration_option(app, "--ws-handshake-timeout", c.ws_handshake_timeout, "WebSocket handshake time limit",
                      "WS_HANDSHAKE_TIMEOUT");
  add_duration_option(app, "--ws-idle-timeout", c.ws_idle_timeout,
                      "Silent WebSocket is pinged at half of this and closed at all of it", "WS_IDLE_TIMEOUT");
  add_duration_option(app, "--queue-sample-interval", c.queue_sample_interval,
                      "How often the request-queue depth is sampled", "QUEUE_SAMPLE_INTERVAL");
  add_duration_option(app, "--busy-retry-after", c.busy_retry_after, "retry_after_ms sent with busy",
                      "BUSY_RETRY_AFTER");
  add_duration_option(app, "--replay-retry", c.replay_retry, "Wait before retrying a failed event replay",
                      "REPLAY_RETRY");
  add_duration_option(app, "--shutdown-grace", c.shutdown_grace, "Time given to close connections on SIGTERM",
                      "SHUTDOWN_GRACE");
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
      ->envname("LOG_LEVEL")
      ->capture_default_str();
}

std::optional<std::string> validate(const gateway_config& c) {
  if (c.port == 0) return "--port must be 1..65535";
  if (c.session_ttl < seconds(1)) return "--session-ttl must be at least 1s";
  if (c.conversation_ttl < std::chrono::hours(1)) return "--conversation-ttl must be at least 1h";
  if (c.max_conversations == 0) return "--max-conversations must be positive";
  if (c.max_conversation_messages < 2) return "--max-conversation-messages must be at least 2";
  if (c.event_retention < 10) return "--event-retention must be at least 10";
  if (c.max_message_chars == 0) return "--max-message-chars must be positive";
  if (c.max_frame_bytes < 1024) return "--max-frame-bytes must be at least 1024";
  if (c.max_body_bytes == 0 || c.max_header_bytes < 512) return "--max-body-bytes/--max-header-bytes too small";
  if (c.max_send_queue_bytes < c.max_frame_bytes) return "--max-send-queue-bytes must be at least --max-frame-bytes";
  if (c.max_connections_per_ip == 0) return "--max-connections-per-ip must be positive";
  if (!(c.rate_burst >= 1)) return "--rate-burst must be at least 1";
  if (!(c.rate_per_second > 0)) return "--rate-per-second must be positive";
  if (c.http_timeout.count() <= 0) return "--http-timeout must be positive";
  if (c.http_header_timeout.count() <= 0) return "--http-header-timeout must be positive";
  if (c.lingering_time.count() < 0) return "--lingering-time must not be negative";
  if (c.replay_retry < milliseconds(10)) return "--replay-retry must be at least 10ms";
  if (c.ws_idle_timeout < milliseconds(200)) return "--ws-idle-timeout must be at least 200ms";
  if (c.queue_sample_interval < milliseconds(10)) return "--queue-sample-interval must be at least 10ms";
  if (c.wait_replicas < 0 || c.wait_replicas > 16) return "--redis-wait-replicas must be 0..16";
  if (c.wait_timeout < milliseconds(1)) return "--redis-wait-timeout must be at least 1ms";
  if (c.metrics_port != 0 && c.metrics_port == c.port) return "--metrics-port must differ from --port";
  if (c.metrics_idle_timeout.count() <= 0) return "--metrics-idle-timeout must be positive";
  if (!is_log_level(c.log_level)) return "--log-level '" + c.log_level + "' is not a level";
  return std::nullopt;
}

}  // namespace parley::gateway
