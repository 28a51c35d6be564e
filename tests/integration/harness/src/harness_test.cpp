// Checks the harness itself: a private redis-server that survives stop/start on the same port,
// child process logs, and the WebSocket client's refusal path.
#include <parley/test/harness.hpp>

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

namespace pt = parley::test;

TEST(Harness, RedisServerStartsStopsAndRestarts) {
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  EXPECT_EQ(redis.command_str({"SET", "k", "v"}), "OK");
  EXPECT_EQ(redis.command_str({"GET", "k"}), "v");
  EXPECT_EQ(redis.command_str({"RPUSH", "l", "a", "b"}), "2");
  auto range = redis.command({"LRANGE", "l", "0", "-1"});
  ASSERT_EQ(range.elements.size(), 2u);
  EXPECT_EQ(range.elements[1].str, "b");
  const auto port = redis.port();
  redis.stop();
  EXPECT_THROW(redis.command({"PING"}), std::runtime_error);
  redis.start();
  EXPECT_EQ(redis.port(), port);
  EXPECT_EQ(redis.command_str({"PING"}), "PONG");
}

TEST(Harness, ProcessCapturesOutputAndExitStatus) {
  pt::temp_dir dir;
  pt::process p({.argv = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, .log_path = dir.path() / "log"});
  auto st = p.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st));
  EXPECT_EQ(WEXITSTATUS(*st), 3);
  EXPECT_EQ(p.log_text(), "out\nerr\n");
}

TEST(Harness, ProcessKillAndSignal) {
  pt::temp_dir dir;
  pt::process p({.argv = {"/bin/sleep", "30"}, .log_path = dir.path() / "log"});
  EXPECT_TRUE(p.running());
  p.signal(SIGTERM);
  auto st = p.wait_exit(std::chrono::seconds(5));
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFSIGNALED(*st));
}

TEST(Harness, ClientsReportRefusedConnections) {
  const auto port = pt::free_port();
  auto r = pt::http_request({.port = port, .timeout = std::chrono::seconds(2)});
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.error.empty());
  pt::ws_client ws;
  EXPECT_FALSE(ws.connect({.port = port, .timeout = std::chrono::seconds(2)}));
  EXPECT_EQ(ws.handshake_status(), 0);
}
