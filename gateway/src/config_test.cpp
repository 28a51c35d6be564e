#include <parley/gateway/config.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace parley::gateway {
namespace {

using namespace std::chrono_literals;

gateway_config parse(std::vector<std::string> args) {
  CLI::App app;
  gateway_config cfg;
  register_options(app, cfg);
  std::vector<const char*> argv{"parley-gateway"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  return cfg;
}

TEST(gateway_config, defaults_are_valid) { EXPECT_FALSE(validate(gateway_config{})); }

TEST(gateway_config, the_redis_url_is_parsed_with_the_command_line) {
  auto cfg = parse({"--redis-url", "redis://:pw@redis.internal:6380/2"});
  EXPECT_EQ(cfg.redis.host, "redis.internal");
  EXPECT_EQ(cfg.redis.port, 6380);
  EXPECT_EQ(cfg.redis.password, "pw");
  EXPECT_EQ(cfg.redis.db, 2);
  EXPECT_EQ(parse({}).redis.port, 6379);
  EXPECT_THROW(parse({"--redis-url", "http://redis.internal"}), CLI::ValidationError);
}

TEST(gateway_config, validate_names_the_bad_setting) {
  gateway_config c;
  c.session_ttl = 0s;
  EXPECT_EQ(validate(c).value_or(""), "--session-ttl must be at least 1s");
  c = gateway_config{};
  c.metrics_port = c.port;
  EXPECT_EQ(validate(c).value_or(""), "--metrics-port must differ from --port");
  c = gateway_config{};
  c.log_level = "loud";
  EXPECT_EQ(validate(c).value_or(""), "--log-level 'loud' is not a level");
}

}  // namespace
}  // namespace parley::gateway
