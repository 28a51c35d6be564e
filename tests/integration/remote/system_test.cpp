// The whole system with the openai backend: redis-server, parley-gateway, parley-worker with
// MODEL_BACKEND=openai, and llama.cpp's llama-server serving the tiny test model. A WebSocket
// message goes in, the reply streams out; stop; kill -9 of the worker mid-reply and takeover.
#include "llama_server.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <memory>

namespace remote_test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class openai_system : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!llama_server_available()) GTEST_SKIP() << "llama-server is not built (scripts/build-llama.sh llama-server)";
    redis_ = std::make_unique<pt::redis_server>(dir_.path());
    // Two slots with a long context, so a long reply lasts long enough to be stopped or cut.
    llama_ = std::make_unique<llama_server>(dir_.path(), PARLEY_TINY_TEXT_MODEL, 2, std::vector<std::string>{"-c", "8192"});
    gateway_ = std::make_unique<pt::gateway_process>(redis_->url(), dir_.path());
  }
  void TearDown() override {
    if (!HasFailure()) return;
    if (gateway_) std::cerr << "---- gateway log ----\n" << gateway_->log_text() << "\n";
    for (auto& w : workers_) std::cerr << "---- worker log ----\n" << w.log_text() << "\n";
    if (llama_) std::cerr << "---- llama-server log (tail) ----\n" << tail(llama_->log_text()) << "\n";
  }
  static std::string tail(const std::string& s) { return s.size() > 4000 ? s.substr(s.size() - 4000) : s; }

  pt::process& start_worker(const std::string& name, int max_new_tokens) {
    workers_.emplace_back(pt::process_options{
        .argv = {PARLEY_WORKER_BIN, "--redis-url", redis_->url(), "--backend", "openai", "--openai-base-url",
                 llama_->base_url(), "--consumer", name, "--metrics-port", "0", "--max-new-tokens",
                 std::to_string(max_new_tokens), "--flush-tokens", "1", "--lease-ttl", "1s",
                 "--heartbeat-interval", "200ms", "--claim-interval", "200ms", "--claim-min-idle", "1500ms",
                 "--openai-read-timeout", "30"},
        .unset_env = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"},
        .log_path = dir_.path() / ("worker-" + name + ".log"),
        .working_dir = dir_.path()});
    return workers_.back();
  }

  std::string new_session() {
    auto r = pt::http_request({.port = gateway_->port(), .method = "POST", .target = "/token?name=Ada"});
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(json::parse(r.body).as_object()["token"].as_string());
  }

  std::unique_ptr<pt::ws_client> connect(const std::string& token) {
    auto ws = std::make_unique<pt::ws_client>();
    EXPECT_TRUE(ws->connect({.port = gateway_->port(), .target = "/chat?token=" + token}));
    ws->read_json_type("ready", 10s);
    return ws;
  }

  json::array history(const std::string& token) {
    auto r = pt::http_request({.port = gateway_->port(), .target = "/refresh_token?token=" + token});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).as_object()["messages"].as_array();
  }

  pt::temp_dir dir_;
  std::unique_ptr<pt::redis_server> redis_;
  std::unique_ptr<llama_server> llama_;
  std::unique_ptr<pt::gateway_process> gateway_;
  std::vector<pt::process> workers_;
};

TEST_F(openai_system, a_websocket_message_gets_a_streamed_reply_from_llama_server) {
  start_worker("w1", 24);
  auto token = new_session();
  auto ws = connect(token);
  ASSERT_TRUE(ws->send_text("Hello Bot"));
  auto ack = ws->read_json_type("ack", 10s);
  const std::string id(ack["id"].as_string());
  ws->read_json_type("reply_start", 60s);
  std::string streamed;
  int deltas = 0;
  while (true) {
    auto f = ws->read_json(60s);
    if (f["type"] == "delta") {
      ++deltas;
      streamed += f["text"].as_string();
    } else if (f["type"] == "reply_end") {
      EXPECT_EQ(f["reply_to"], id.c_str());
      break;
    } else {
      // Nothing failed, so no attempt was retried: no error, no reply_discard.
      ASSERT_TRUE(f["type"] == "reply_start") << json::serialize(f);
    }
  }
  EXPECT_GT(deltas, 1) << "the reply streamed in pieces";
  EXPECT_FALSE(streamed.empty());
  auto h = history(token);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].as_object()["source"], "bot");
  EXPECT_EQ(h[1].as_object()["msg"].as_string(), streamed);
}

TEST_F(openai_system, stop_ends_the_reply_and_keeps_the_partial_text) {
  start_worker("w1", 4000);
  auto token = new_session();
  auto ws = connect(token);
  ASSERT_TRUE(ws->send_text(R"({"type":"message","text":"Tell me a long story"})"));
  const std::string id(ws->read_json_type("ack", 10s)["id"].as_string());
  ws->read_json_type("delta", 60s);
  ASSERT_TRUE(ws->send_text(R"({"type":"stop","message_id":")" + id + "\"}"));
  auto end = ws->read_json_type("reply_end", 30s);
  EXPECT_EQ(end["stopped"], true) << json::serialize(end);
  auto h = history(token);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].as_object()["stopped"], true);
}

TEST_F(openai_system, killed_worker_mid_reply_is_taken_over_and_the_reply_completes_once) {
  // Replies long enough (up to 2,000 tokens) to be cut mid-reply.
  start_worker("w1", 2000);
  start_worker("w2", 2000);
  auto token = new_session();
  auto ws = connect(token);
  bool killed_mid_reply = false;
  for (int round = 0; round < 3 && !killed_mid_reply; ++round) {
    ASSERT_TRUE(ws->send_text("Once upon a time"));
    const std::string id(ws->read_json_type("ack", 10s)["id"].as_string());
    std::vector<json::object> frames;
    frames.push_back(ws->read_json_type("delta", 60s, &frames));
    const auto holder = redis_->command_str({"GET", "parley:{" + token + "}:lease"});
    if (holder.empty()) {
      ws->read_json_type("reply_end", 120s);
      continue;  // the reply finished before the kill: try again
    }
    auto& victim = holder.starts_with("w1") ? workers_[0] : workers_[1];
    victim.signal(SIGKILL);
    victim.wait_exit(5s);
    killed_mid_reply = true;
    // Until this turn's reply_end, or an error frame (which fails the test below).
    while (frames.back()["type"] != "reply_end" && frames.back()["type"] != "error")
      frames.push_back(ws->read_json(120s));
    bool discarded = false;
    std::string text;
    for (auto& f : frames) {
      ASSERT_NE(f["type"], "error") << json::serialize(f);
      if (f["type"] == "reply_discard") {
        discarded = true;
        text.clear();
      }
      if (f["type"] == "delta") text += f["text"].as_string();
      if (f["type"] == "reply_end") {
        EXPECT_EQ(f["reply_to"], id.c_str());
      }
    }
    EXPECT_TRUE(discarded) << "no reply_discard after the takeover";
    EXPECT_FALSE(text.empty());
    auto h = history(token);
    ASSERT_EQ(h.size(), 2u * (round + 1)) << "exactly one bot reply per message";
    EXPECT_EQ(h.back().as_object()["msg"].as_string(), text);
  }
  EXPECT_TRUE(killed_mid_reply) << "every reply ended before the worker could be killed";
}

}  // namespace
}  // namespace remote_test
