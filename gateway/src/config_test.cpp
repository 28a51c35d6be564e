#include <parley/gateway/config.hpp>

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using namespace std::chrono_literals;

TEST(gateway_config, defaults_are_valid) { EXPECT_FALSE(validate(gateway_config{})); }

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
