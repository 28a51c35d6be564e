// A bad setting stops the real gateway at start with exit status 2 and one line naming the setting,
// whether it came from a flag or the environment (scripts/run.sh and docs/configuration.md rely on
// both); --help exits 0. No Redis is needed: the gateway ends before it connects, except for a
// database number given for a cluster node, which only the node can tell.
#include <parley/test/harness.hpp>

#include <gtest/gtest.h>

namespace gw_test {
namespace {

namespace pt = parley::test;
using namespace std::chrono_literals;

pt::finished_process run_gateway(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  pt::temp_dir dir;
  std::vector<std::string> argv{pt::gateway_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return pt::run_to_exit({.argv = argv, .env = std::move(env),
                          .unset_env = {"REDIS_URL", "PORT", "HOST", "SESSION_TTL", "ALLOWED_ORIGINS", "STATIC_DIR",
                                        "LOG_LEVEL"},
                          .log_path = dir.path() / "gateway.log", .working_dir = dir.path()},
                         30s);
}

TEST(GatewayStartup, ABadEnvironmentValueExits2WithOneLineNamingIt) {
  auto e = run_gateway({}, {{"SESSION_TTL", "5x"}});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-gateway: --session-ttl (SESSION_TTL): '5x' is not a duration (e.g. 250ms, 30s, 5m, 2h)\n");
}

TEST(GatewayStartup, ABadFlagExits2WithOneLineNamingIt) {
  auto e = run_gateway({"--port", "x"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-gateway: Could not convert: --port (PORT) = x\n");
  e = run_gateway({"--max-frame-bytes", "10"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-gateway: --max-frame-bytes must be at least 1024\n");
  e = run_gateway({"--no-such-flag"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-gateway: The following argument was not expected: --no-such-flag\n");
}

TEST(GatewayStartup, ADatabaseNumberForAClusterExits2) {
  // Several hosts name a cluster: refused as a setting, before anything connects.
  auto e = run_gateway({"--redis-url", "redis://127.0.0.1:7001,127.0.0.1:7002/2"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log,
            "parley-gateway: --redis-url (REDIS_URL): 'redis://127.0.0.1:7001,127.0.0.1:7002/2': redis cluster has "
            "only database 0: remove the /db part of the redis url\n");
  // One host that turns out to be a cluster node: found when connecting, and the same status.
  auto& cluster = pt::shared_cluster();
  auto f = run_gateway({"--redis-url", cluster.node(0).url() + "/2", "--port", std::to_string(pt::free_port())});
  EXPECT_EQ(f.status, 2) << f.log;
  EXPECT_NE(f.log.find("redis cluster has only database 0"), std::string::npos) << f.log;
}

TEST(GatewayStartup, HelpExits0) {
  auto e = run_gateway({"--help"});
  EXPECT_EQ(e.status, 0);
  EXPECT_NE(e.log.find("--session-ttl"), std::string::npos);
}

}  // namespace
}  // namespace gw_test
