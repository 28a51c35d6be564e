#pragma once
// Shared setup for the gateway's integration tests: a private redis-server, the real gateway, and
// helpers that act like a worker by writing events straight to Redis.
#include <parley/keys.hpp>
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace gw_test {

namespace pt = parley::test;
namespace json = boost::json;
using namespace std::chrono_literals;

// A suite that runs on both standalone Redis and the shared cluster is parameterised:
// `class S : public GatewayTest { void SetUp() override { start_on(GetParam()); } };` with TEST_P
// and INSTANTIATE_TEST_SUITE_P(redis, S, pt::both_redis_kinds, pt::redis_kind_name). The others
// are plain TEST_F suites on a standalone server.
class GatewayTest : public ::testing::TestWithParam<pt::redis_kind> {
 protected:
  // Subclasses may add flags before calling start() (SetUp starts with none).
  void start(std::vector<std::string> flags = {}, std::vector<std::string> redis_args = {}) {
    redis_ = std::make_unique<pt::redis_under_test>(kind_, dir_.path(), std::move(redis_args));
    gateway_ = std::make_unique<pt::gateway_process>(redis_->url(), dir_.path(), std::move(flags));
  }
  void start_on(pt::redis_kind kind, std::vector<std::string> flags = {}) {
    kind_ = kind;
    start(std::move(flags));
  }
  void TearDown() override {
    if (HasFailure() && gateway_) std::cerr << "---- gateway log ----\n" << gateway_->log_text() << "\n";
  }

  // `flags` plus --metrics-port on a free port, for tests that read the gateway's metrics.
  std::vector<std::string> with_metrics(std::vector<std::string> flags = {}) {
    metrics_port_ = pt::free_port();
    flags.insert(flags.end(), {"--metrics-port", std::to_string(metrics_port_)});
    return flags;
  }
  // GET /metrics (the gateway must have been started with_metrics).
  std::string scrape() {
    auto r = pt::http_request({.port = metrics_port_, .target = "/metrics"});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }
  // The value of the sample `name{labels}` (or `name` when labels is empty) on a scrape; -1 if absent.
  static double sample(const std::string& page, const std::string& name, const std::string& labels = {}) {
    const std::string key = labels.empty() ? name : name + "{" + labels + "}";
    std::istringstream lines(page);
    for (std::string line; std::getline(lines, line);) {
      if (line.starts_with(key + " ")) return std::stod(line.substr(key.size() + 1));
    }
    return -1;
  }

  std::uint16_t port() const { return gateway_->port(); }
  // The standalone server, for tests that stop and restart it.
  pt::redis_server& redis() { return *redis_->server(); }
  // Whichever Redis the test runs on, for setup and assertions by key.
  pt::redis_under_test& db() { return *redis_; }
  pt::gateway_process& gateway() { return *gateway_; }

  pt::http_result get(const std::string& target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    return pt::http_request({.port = port(), .method = "GET", .target = target, .headers = std::move(headers)});
  }
  pt::http_result post(const std::string& target, std::string body = {},
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    return pt::http_request(
        {.port = port(), .method = "POST", .target = target, .body = std::move(body), .headers = std::move(headers)});
  }
  static json::object body_of(const pt::http_result& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "not a JSON object: " << r.body;
      return {};
    }
    return v.as_object();
  }

  std::string new_session(const std::string& name = "Ada") {
    auto r = post("/token?name=" + name);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(body_of(r)["token"].as_string());
  }

  // Connects and consumes the `ready` frame. `waiting` frames are dropped unless asked for
  // (tests without a worker get one for every message).
  std::unique_ptr<pt::ws_client> connect(const std::string& token, const std::string& last_event_id = {},
                                         bool with_waiting = false) {
    auto ws = std::make_unique<pt::ws_client>();
    if (!with_waiting) ws->ignore_type("waiting");
    std::string target = "/chat?token=" + token;
    if (!last_event_id.empty()) target += "&last_event_id=" + last_event_id;
    EXPECT_TRUE(ws->connect({.port = port(), .target = target})) << "handshake status " << ws->handshake_status();
    auto ready = ws->read_json_type("ready", 5s);
    EXPECT_EQ(ready["token"], token.c_str());
    return ws;
  }

  // What a worker does for one event: XADD to the session's stream, then SPUBLISH with the id.
  std::string worker_event(const std::string& token, json::object event) {
    const std::string key = "parley:{" + token + "}:events";
    auto id = redis_->command_str({"XADD", key, "*", "e", json::serialize(event)});
    event["id"] = id;
    redis_->command({"SPUBLISH", "parley:{" + token + "}:notify", json::serialize(event)});
    return id;
  }

  // Whether Redis still holds the session (EXISTS also expires a key that is due, so this is exact).
  bool session_exists(const std::string& token) {
    return redis_->command_str({"EXISTS", "parley:{" + token + "}:session"}) == "1";
  }

  long long history_length(const std::string& token) {
    return std::stoll(redis_->command_str({"LLEN", "parley:{" + token + "}:history"}));
  }
  // BGREWRITEAOF, then waits until the rewrite (and any rewrite it had to schedule) is done.
  void rewrite_aof(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    redis().command({"BGREWRITEAOF"});
    ASSERT_TRUE(pt::wait_until(
        [&] {
          auto info = redis().command_str({"INFO", "persistence"});
          return info.find("aof_rewrite_in_progress:0") != std::string::npos &&
                 info.find("aof_rewrite_scheduled:0") != std::string::npos;
        },
        timeout));
  }
  // The request shards the harness started the gateway with (pt::default_request_shards).
  parley::keys::request_streams request_streams() { return parley::keys::request_streams(pt::default_request_shards(redis_->url())); }
  std::string request_stream_of(const std::string& token) { return request_streams().stream_of(token); }
  // Entries in every request shard.
  long long requests_length() {
    const auto streams = request_streams();
    long long n = 0;
    for (int i = 0; i < streams.size(); ++i) n += std::stoll(redis_->command_str({"XLEN", streams.stream(i)}));
    return n;
  }

  pt::temp_dir dir_;
  pt::redis_kind kind_ = pt::redis_kind::standalone;
  std::unique_ptr<pt::redis_under_test> redis_;
  std::unique_ptr<pt::gateway_process> gateway_;
  std::uint16_t metrics_port_ = 0;
};

}  // namespace gw_test
