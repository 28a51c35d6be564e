#include <parley/worker/config.hpp>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <cstdlib>

namespace parley::worker {
namespace {

using namespace std::chrono_literals;

worker_config parse(std::vector<std::string> args) {
  CLI::App app;
  worker_config cfg;
  register_options(app, cfg);
  std::vector<const char*> argv{"parley-worker"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  return cfg;
}

TEST(worker_config, defaults_are_valid) { EXPECT_FALSE(validate(worker_config{})); }

TEST(worker_config, durations_take_units_and_bare_numbers_are_seconds) {
  auto cfg = parse({"--lease-ttl", "3s", "--heartbeat-interval", "500ms", "--session-ttl", "120", "--claim-min-idle",
                    "1m"});
  EXPECT_EQ(cfg.lease_ttl, 3s);
  EXPECT_EQ(cfg.heartbeat_interval, 500ms);
  EXPECT_EQ(cfg.session_ttl, 120s);  // seconds, as the gateway reads SESSION_TTL
  EXPECT_EQ(cfg.claim_min_idle, 1min);
}

TEST(worker_config, environment_fills_options) {
  ::setenv("MAX_CONCURRENT_TURNS", "7", 1);
  ::setenv("FLUSH_INTERVAL", "25ms", 1);
  auto cfg = parse({});
  ::unsetenv("MAX_CONCURRENT_TURNS");
  ::unsetenv("FLUSH_INTERVAL");
  EXPECT_EQ(cfg.max_concurrent_turns, 7);
  EXPECT_EQ(cfg.flush_interval, 25ms);
}

TEST(worker_config, the_redis_url_is_parsed_with_the_command_line) {
  auto cfg = parse({"--redis-url", "redis://worker@10.0.0.5:7000"});
  EXPECT_EQ(cfg.redis.host, "10.0.0.5");
  EXPECT_EQ(cfg.redis.port, 7000);
  EXPECT_EQ(cfg.redis.username, "worker");
  EXPECT_THROW(parse({"--redis-url", "10.0.0.5:7000"}), CLI::ValidationError);
}

TEST(worker_config, bad_values_are_refused_by_name) {
  EXPECT_THROW(parse({"--lease-ttl", "soon"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--lease-ttl", "-5s"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--backend", "gpt"}), CLI::ValidationError);
  EXPECT_THROW(parse({"--max-attempts", "0"}), CLI::ValidationError);
}

TEST(worker_config, timing_invariants_are_checked) {
  worker_config c;
  c.claim_min_idle = c.lease_ttl;
  EXPECT_EQ(validate(c).value_or(""), "--claim-min-idle must be greater than --lease-ttl");
  c = worker_config{};
  c.heartbeat_interval = c.lease_ttl;
  EXPECT_EQ(validate(c).value_or(""), "--heartbeat-interval must be at most half of --lease-ttl");
}

TEST(worker_config, log_level_is_a_checked_setting) {
  EXPECT_EQ(parse({"--log-level", "debug"}).log_level, "debug");
  worker_config c;
  c.log_level = "loud";
  EXPECT_EQ(validate(c).value_or(""), "--log-level 'loud' is not a level");
}

}  // namespace
}  // namespace parley::worker
