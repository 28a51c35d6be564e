// HTTP API of the real gateway: every endpoint, every bad input, expiry, CORS, static files.
#include "fixture.hpp"

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

namespace gw_test {

namespace {
const std::string bad_name = R"({"detail":{"loc":"name","msg":"Enter a valid name"}})";
const std::string gone = R"({"detail":"Session expired or does not exist"})";
}  // namespace

class Http : public GatewayTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(Http, TestHealthAndReadiness) {
  auto r = get("/test");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"msg":"API is Online"})");
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(get("/readyz").status, 200);
}

TEST_F(Http, CreateSessionFromQueryAndBody) {
  auto r = post("/token?name=Ada%20Lovelace");
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  const std::string token(b["token"].as_string());
  EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_EQ(b["name"], "Ada Lovelace");
  EXPECT_TRUE(std::regex_match(std::string(b["session_start"].as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  EXPECT_TRUE(b["messages"].as_array().empty());
  EXPECT_EQ(redis().command_str({"HGET", "parley:{" + token + "}:session", "name"}), "Ada Lovelace");
  auto ttl = std::stoll(redis().command_str({"TTL", "parley:{" + token + "}:session"}));
  EXPECT_GT(ttl, 3500);

  auto r2 = post("/token", R"({"name":"Bob"})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(body_of(r2)["name"], "Bob");
  EXPECT_NE(body_of(r2)["token"], b["token"]);
}

TEST_F(Http, InvalidNamesAre400) {
  for (const std::string& target : std::vector<std::string>{"/token", "/token?name=", "/token?name=%20%20", "/token?name=" + std::string(65, 'x'),
                                   "/token?name=a%01b", "/token?name=a%0Ab"}) {
    auto r = post(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body, bad_name) << target;
  }
  auto wrong_type = post("/token", R"({"name":5})");
  EXPECT_EQ(wrong_type.status, 400);
  EXPECT_EQ(wrong_type.body, bad_name);
  auto unknown = post("/token", R"({"name":"a","admin":true})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(body_of(unknown)["detail"].as_object()["loc"], "admin");
  auto not_json = post("/token", "name=x");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_EQ(body_of(not_json)["detail"].as_object()["loc"], "body");
  // Nothing was stored: the only key is the queue's shard count, which the gateway writes at start.
  for (const auto& key : redis().command({"KEYS", "parley:*"}).elements) EXPECT_EQ(key.str, "parley:request_shards");
  EXPECT_EQ(post("/token?name=" + std::string(64, 'x')).status, 200);
}

TEST_F(Http, RefreshReturnsTheSessionOrA400) {
  auto token = new_session("Grace");
  auto ws = connect(token);
  ws->send_text("Hello Bot");
  auto ack = ws->read_json_type("ack");
  auto r = get("/refresh_token?token=" + token);
  ASSERT_EQ(r.status, 200) << r.body;
  auto b = body_of(r);
  EXPECT_EQ(b["name"], "Grace");
  EXPECT_EQ(b["token"], token.c_str());
  auto& msgs = b["messages"].as_array();
  ASSERT_EQ(msgs.size(), 1u);
  auto& m = msgs[0].as_object();
  EXPECT_EQ(m["id"], ack["id"]);
  EXPECT_EQ(m["source"], "human");
  EXPECT_EQ(m["msg"], "Hello Bot");
  EXPECT_TRUE(m["timestamp"].is_string());
  EXPECT_EQ(b["last_event_id"], ack["id"]);

  for (const std::string target : {"/refresh_token", "/refresh_token?token=", "/refresh_token?token=nope",
                                   "/refresh_token?token=123e4567-e89b-42d3-a456-426614174000"}) {
    auto bad = get(target);
    EXPECT_EQ(bad.status, 400) << target;
    EXPECT_EQ(bad.body, gone) << target;
  }
}

TEST_F(Http, LimitsAndRoutingErrors) {
  auto big = post("/token?name=a", std::string(17 * 1024, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(get("/test", {{"X-Big", std::string(9 * 1024, 'y')}}).status, 431);
  auto malformed = get("/refresh_token?token=%ZZ");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_TRUE(body_of(malformed)["detail"].is_string());
  auto wrong = get("/token?name=a");
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("Allow"), "POST, OPTIONS");
  EXPECT_EQ(post("/test").status, 405);
  auto missing = get("/no/such/thing.json");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(body_of(missing).contains("detail"));
  EXPECT_EQ(post("/nothing").status, 404);
  auto garbage = pt::raw_request(port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_EQ(get("/chat").status, 426);
  // The gateway is still fine.
  EXPECT_EQ(get("/test").status, 200);
}

TEST_F(Http, CorsForAllowedOrigins) {
  auto local = get("/test", {{"Origin", "http://localhost:5173"}});
  EXPECT_EQ(local.header("Access-Control-Allow-Origin"), "http://localhost:5173");
  auto evil = get("/test", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(evil.status, 200);
  EXPECT_EQ(evil.header("Access-Control-Allow-Origin"), "");
  auto pre = pt::http_request({.port = port(), .method = "OPTIONS", .target = "/token",
                               .headers = {{"Origin", "http://127.0.0.1:9999"}, {"Access-Control-Request-Method", "POST"}}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "http://127.0.0.1:9999");
  EXPECT_NE(pre.header("Access-Control-Allow-Methods").find("POST"), std::string::npos);
}

TEST_F(Http, ConnectionCapPerAddress) {
  gateway_.reset();
  start({"--max-connections-per-ip", "3"});
  auto token = new_session();
  // The connection that created the session is released just after its response (and each
  // connection of a failed try just after it closes): until then the third socket is refused.
  std::vector<std::unique_ptr<pt::ws_client>> open;
  ASSERT_TRUE(pt::wait_until(
      [&] {
        open.clear();
        for (int i = 0; i < 3; ++i) {
          auto ws = std::make_unique<pt::ws_client>();
          if (!ws->connect({.port = port(), .target = "/chat?token=" + token})) return false;
          ws->read_json_type("ready", 5s);
          open.push_back(std::move(ws));
        }
        return true;
      },
      10s));
  auto r = get("/test");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("Retry-After"), "5");
  open.pop_back();
  EXPECT_TRUE(pt::wait_until([&] { return get("/test").status == 200; }, 5s));
}

class Expiry : public GatewayTest {
 protected:
  void SetUp() override { start({"--session-ttl", "2s"}); }
};

TEST_F(Expiry, SessionsExpireAndUseSlidesTheExpiry) {
  auto idle = new_session("Idle");
  auto used = new_session("Used");
  // Until Redis drops the idle session (a TTL after it was made), the other one, as old, is used
  // again and again; each use slides its expiry.
  int uses = 0;
  ASSERT_TRUE(pt::wait_until(
      [&] {
        EXPECT_EQ(get("/refresh_token?token=" + used).status, 200) << "use " << uses;
        ++uses;
        return !session_exists(idle);
      },
      20s));
  EXPECT_TRUE(session_exists(used));
  auto r = get("/refresh_token?token=" + idle);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, gone);
  pt::ws_client ws;
  EXPECT_FALSE(ws.connect({.port = port(), .target = "/chat?token=" + idle}));
  EXPECT_EQ(ws.handshake_status(), 403);
}

class Static : public GatewayTest {
 protected:
  void SetUp() override {
    auto web = dir_.path() / "www";
    std::filesystem::create_directories(web / "assets");
    std::ofstream(web / "index.html") << "<!doctype html><title>Parley</title>";
    std::ofstream(web / "assets" / "app-abc123.js") << "console.log(1)";
    std::ofstream(dir_.path() / "secret.txt") << "secret";
    start({"--static-dir", web.string()});
  }
};

TEST_F(Static, ServesTheWebClient) {
  auto index = get("/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.header("Cache-Control"), "no-cache");
  EXPECT_NE(index.body.find("<title>Parley</title>"), std::string::npos);
  auto js = get("/assets/app-abc123.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.header("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(js.header("Cache-Control").find("immutable"), std::string::npos);
  auto spa = get("/some/client/route", {{"Accept", "text/html,application/xhtml+xml"}});
  EXPECT_EQ(spa.status, 200);
  EXPECT_EQ(spa.header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(get("/missing.js").status, 404);
  for (const char* attack : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"}) {
    auto raw = pt::raw_request(port(), std::string("GET ") + attack + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(raw.find("secret"), std::string::npos) << attack << ": " << raw;
    EXPECT_TRUE(raw.rfind("HTTP/1.1 404", 0) == 0 || raw.rfind("HTTP/1.1 400", 0) == 0) << attack << ": " << raw;
  }
}

TEST_F(Static, HeadGivesTheHeadersOfGetWithoutTheBody) {
  // Raw, so that nothing after the head could go unnoticed.
  auto raw = pt::raw_request(port(), "HEAD /assets/app-abc123.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
  EXPECT_NE(raw.find("Content-Type: text/javascript; charset=utf-8\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Content-Length: 14\r\n"), std::string::npos) << raw;
  EXPECT_NE(raw.find("immutable"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.find("console.log"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
}

}  // namespace gw_test
