// The gateway under failure: Redis going away and coming back during a session, and shutdown by
// signal with WebSockets open.
#include "fixture.hpp"

#include <fstream>
#include <signal.h>
#include <sys/wait.h>

#include <thread>

namespace gw_test {

class Resilience : public GatewayTest {
 protected:
  // AOF so that the session survives the restart, like the `make run` Redis.
  void SetUp() override { start({}, {"--appendonly", "yes", "--appendfsync", "always"}); }
};

TEST_F(Resilience, RedisRestartDuringASession) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text(R"({"type":"message","text":"before","client_id":"b1"})");
  EXPECT_EQ(ws->read_json_type("ack")["seq"], 1);

  redis().stop();
  EXPECT_TRUE(pt::wait_until([&] { return get("/readyz").status == 503; }, 5s));
  ws->send_text(R"({"type":"message","text":"during","client_id":"d1"})");
  auto e = ws->read_json_type("error", 10s);
  EXPECT_EQ(e["code"], "unavailable");
  EXPECT_EQ(e["client_id"], "d1");
  auto t = post("/token?name=Late");
  EXPECT_EQ(t.status, 503);
  EXPECT_TRUE(body_of(t)["detail"].is_string());
  EXPECT_EQ(get("/refresh_token?token=" + token).status, 503);
  pt::ws_client refused;
  EXPECT_FALSE(refused.connect({.port = port(), .target = "/chat?token=" + token}));
  EXPECT_EQ(refused.handshake_status(), 503);
  // Refused upgrades and API calls word the same error the same way.
  EXPECT_EQ(refused.handshake_body(), t.body);
  EXPECT_EQ(get("/test").status, 200);

  redis().start();
  EXPECT_TRUE(pt::wait_until([&] { return get("/readyz").status == 200; }, 10s));
  // The same socket works again, and the resend of the failed message is stored once.
  std::optional<json::object> ack;
  EXPECT_TRUE(pt::wait_until(
      [&] {
        ws->send_text(R"({"type":"message","text":"during","client_id":"d1"})");
        auto f = ws->read_json();
        while (f["type"] != "ack" && f["type"] != "error") f = ws->read_json();
        if (f["type"] == "ack") ack = f;
        return ack.has_value();
      },
      10s));
  ASSERT_TRUE(ack);
  EXPECT_EQ((*ack)["seq"], 2);
  EXPECT_EQ(history_length(token), 2);
  // Events published after the outage reach the socket (the subscriber re-subscribed).
  auto id = worker_event(token, {{"type", "delta"}, {"text", "back"}});
  std::vector<json::object> skipped;
  auto d = ws->read_json_type("delta", 10s, &skipped);
  EXPECT_EQ(d["id"], id.c_str());
  EXPECT_EQ(post("/token?name=Later").status, 200);
}

TEST_F(Resilience, SigtermClosesWebSocketsWith1001AndExits) {
  auto token = new_session();
  auto a = connect(token);
  auto b = connect(token);
  const auto started = std::chrono::steady_clock::now();
  auto status = gateway().terminate(10s);
  ASSERT_TRUE(status);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 0);
  for (auto* ws : {a.get(), b.get()}) {
    auto closed = ws->wait_closed(2s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->close_code, 1001);
  }
}

TEST(GatewayStartup, BadConfigurationIsAClearError) {
  pt::temp_dir dir;
  pt::process p({.argv = {pt::gateway_binary(), "--redis-url", "http://nope", "--port", "1"},
                 .log_path = dir.path() / "log"});
  auto st = p.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(st);
  EXPECT_EQ(WEXITSTATUS(*st), 2);
  EXPECT_NE(p.log_text().find("--redis-url"), std::string::npos) << p.log_text();

  pt::process help({.argv = {pt::gateway_binary(), "--help"}, .log_path = dir.path() / "help"});
  ASSERT_TRUE(help.wait_exit(std::chrono::seconds(10)));
  for (const char* flag : {"REDIS_URL", "PORT", "HOST", "SESSION_TTL", "ALLOWED_ORIGINS", "STATIC_DIR"})
    EXPECT_NE(help.log_text().find(flag), std::string::npos) << flag;
}

TEST(GatewayStartup, ReadsDotEnvFromTheWorkingDirectory) {
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  const auto port = pt::free_port();
  {
    std::ofstream env(dir.path() / ".env");
    env << "# local settings\nPORT=" << port << "\nREDIS_URL=" << redis.url() << "\nSESSION_TTL=77s\n";
  }
  pt::process p({.argv = {pt::gateway_binary(), "--host", "127.0.0.1"},
                 .unset_env = {"PORT", "REDIS_URL", "SESSION_TTL"},
                 .log_path = dir.path() / "log",
                 .working_dir = dir.path()});
  ASSERT_TRUE(pt::wait_until([&] { return pt::http_request({.port = port, .target = "/healthz"}).status == 200; }, 10s))
      << p.log_text();
  auto r = pt::http_request({.port = port, .method = "POST", .target = "/token?name=Env"});
  ASSERT_EQ(r.status, 200);
  auto token = std::string(json::parse(r.body).as_object()["token"].as_string());
  auto ttl = std::stoll(redis.command_str({"TTL", "parley:{" + token + "}:session"}));
  EXPECT_GT(ttl, 70);
  EXPECT_LE(ttl, 77);
}

}  // namespace gw_test
