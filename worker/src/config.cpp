#include <parley/worker/config.hpp>

#include <parley/keys.hpp>
#include <parley/cli.hpp>
#include <parley/logging.hpp>

#include <CLI/CLI.hpp>

#include <unistd.h>

namespace parley::worker {

void register_options(CLI::App& app, worker_config& cfg) {
  add_redis_url_option(app, cfg.redis, "Redis to connect to");
  app.add_option("--consumer", cfg.consumer, "Consumer name in the worker group (default <hostname>-<pid>)")
      ->envname("WORKER_NAME");
  app.add_option("--backend", cfg.backend, "Model backend")
      ->envname("MODEL_BACKEND")
      ->check(CLI::IsMember({"local", "openai", "hf"}))
      ->capture_default_str();

  add_duration_option(app, "--lease-ttl", cfg.lease_ttl,
                      "Session lease lifetime; a dead worker's sessions are free again after it",
                      "LEASE_TTL");
  add_duration_option(app, "--heartbeat-interval", cfg.heartbeat_interval,
                      "How often a running turn renews its lease", "HEARTBEAT_INTERVAL");
  add_duration_option(app, "--presence-ttl", cfg.presence_ttl,
                      "How long the presence record counts this worker alive (renewed every third of it)",
                      "PRESENCE_TTL");
  add_duration_option(app, "--claim-interval", cfg.claim_interval,
                      "How often to look for requests abandoned by dead workers (XAUTOCLAIM)",
                      "CLAIM_INTERVAL");
  add_duration_option(app, "--claim-min-idle", cfg.claim_min_idle,
                      "A pending request idle this long is taken over; must exceed --lease-ttl",
                      "CLAIM_MIN_IDLE");
  add_duration_option(app, "--read-block", cfg.read_block, "XREADGROUP BLOCK time", "READ_BLOCK");
  add_duration_option(app, "--consumer-expiry", cfg.consumer_expiry,
                      "A consumer that owns no request and was not seen this long (a gone worker) leaves the group",
                      "CONSUMER_EXPIRY");
  app.add_option("--max-attempts", cfg.max_attempts, "Generation attempts per message before dead-lettering")
      ->envname("MAX_ATTEMPTS")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  add_duration_option(app, "--retry-backoff", cfg.retry_backoff, "Wait before retrying a failed generation",
                      "RETRY_BACKOFF");
  add_duration_option(app, "--redis-retry", cfg.redis_retry,
                      "Wait before reading requests again after a Redis failure", "REDIS_RETRY");

  add_duration_option(app, "--flush-interval", cfg.flush_interval,
                      "Longest time a generated piece waits before its delta event is written",
                      "FLUSH_INTERVAL");
  app.add_option("--flush-tokens", cfg.flush_tokens, "Pieces coalesced into one delta event at most")
      ->envname("FLUSH_TOKENS")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--event-retention", cfg.event_retention, "Events kept per session stream (approximate)")
      ->envname("EVENT_RETENTION")
      ->check(CLI::Range(10LL, 10'000'000LL))
      ->capture_default_str();
  add_duration_option(app, "--session-ttl", cfg.session_ttl,
                      "Session expiry, refreshed by worker output (must match the gateway)", "SESSION_TTL");

  app.add_option("--max-concurrent-turns", cfg.max_concurrent_turns, "Sessions this worker answers at once")
      ->envname("MAX_CONCURRENT_TURNS")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--request-shards", cfg.request_shards,
                 "Request streams the queue is split into; the same on every gateway and worker")
      ->envname("REQUEST_SHARDS")
      ->check(CLI::Range(1, keys::max_request_shards))
      ->capture_default_str();
  add_duration_option(app, "--shutdown-grace", cfg.shutdown_grace,
                      "On SIGTERM, how long running turns may finish before they are handed back",
                      "WORKER_SHUTDOWN_GRACE");

  app.add_option("--metrics-host", cfg.metrics_host, "Address of the Prometheus endpoint")
      ->envname("METRICS_HOST")
      ->capture_default_str();
  app.add_option("--metrics-port", cfg.metrics_port, "Port of the Prometheus endpoint (/metrics); 0 disables it")
      ->envname("METRICS_PORT")
      ->capture_default_str();

  add_duration_option(app, "--metrics-idle-timeout", cfg.metrics_idle_timeout,
                      "Idle keep-alive connections to /metrics are closed after it", "METRICS_IDLE_TIMEOUT");

  app.add_option("--system-prompt", cfg.system_prompt, "System prompt for models with a chat template")
      ->envname("SYSTEM_PROMPT")
      ->capture_default_str();
  auto& s = cfg.sampling;
  app.add_option("--temperature", s.temperature, "Sampling temperature (0 = greedy)")
      ->envname("TEMPERATURE")
      ->check(CLI::Range(0.0f, 5.0f))
      ->capture_default_str();
  app.add_option("--top-p", s.top_p, "Nucleus sampling probability mass")
      ->envname("TOP_P")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--top-k", s.top_k, "Top-k sampling (0 = off)")
      ->envname("TOP_K")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  app.add_option("--max-new-tokens", s.max_new_tokens, "Longest reply in tokens")
      ->envname("MAX_NEW_TOKENS")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--seed", s.seed, "Sampling seed (default: a fresh seed per request)")->envname("SEED");
  app.add_option("--stop", s.stop, "Extra stop string (repeatable; STOP is comma-separated)")
      ->envname("STOP")
      ->delimiter(',');
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error, critical, off")
      ->envname("LOG_LEVEL")
      ->capture_default_str();
}

std::optional<std::string> validate(const worker_config& cfg) {
  if (cfg.lease_ttl.count() <= 0) return "--lease-ttl must be positive";
  if (cfg.heartbeat_interval.count() <= 0) return "--heartbeat-interval must be positive";
  if (cfg.heartbeat_interval * 2 > cfg.lease_ttl)
    return "--heartbeat-interval must be at most half of --lease-ttl";
  if (cfg.claim_min_idle <= cfg.lease_ttl) return "--claim-min-idle must be greater than --lease-ttl";
  if (cfg.heartbeat_interval * 2 > cfg.claim_min_idle)
    return "--heartbeat-interval must be at most half of --claim-min-idle";
  if (cfg.claim_interval.count() <= 0) return "--claim-interval must be positive";
  if (cfg.presence_ttl < milliseconds(300)) return "--presence-ttl must be at least 300ms";
  if (cfg.read_block.count() <= 0) return "--read-block must be positive";
  if (cfg.consumer_expiry <= cfg.read_block * 2)
    return "--consumer-expiry must be more than twice --read-block";
  if (cfg.redis_retry.count() <= 0) return "--redis-retry must be positive";
  if (cfg.metrics_idle_timeout.count() <= 0) return "--metrics-idle-timeout must be positive";
  if (cfg.flush_interval.count() <= 0) return "--flush-interval must be positive";
  if (cfg.session_ttl.count() < 1000) return "--session-ttl must be at least 1s";
  if (cfg.shutdown_grace.count() < 0) return "--shutdown-grace must not be negative";
  for (const auto& s : cfg.sampling.stop) {
    if (s.empty()) return "--stop strings must not be empty";
  }
  if (!is_log_level(cfg.log_level)) return "--log-level '" + cfg.log_level + "' is not a level";
  return std::nullopt;
}

std::string consumer_name(const worker_config& cfg) {
  if (!cfg.consumer.empty()) return cfg.consumer;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host[0] ? host : "worker") + "-" + std::to_string(::getpid());
}

}  // namespace parley::worker
