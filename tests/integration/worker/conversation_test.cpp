// A person's conversation answered by the real worker: replies keep the conversation's own
// expiry, and deleting it mid-reply stops the reply and leaves no key behind.
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class conversation_e2e : public ::testing::Test {
 protected:
  temp_dir dir;
  redis_server redis{dir.path()};
  gateway_process gateway{redis.url(), dir.path(), {"--conversation-ttl", "2d"}};

  http_result api(const std::string& method, const std::string& target, const std::string& user = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!user.empty()) headers.emplace_back("Authorization", "Bearer " + user);
    return http_request({.port = gateway.port(), .method = method, .target = target, .headers = headers});
  }
  static std::string field(const http_result& r, const char* name) {
    return std::string(json::parse(r.body).as_object().at(name).as_string());
  }
  std::vector<std::string> keys_of(const std::string& token) {
    std::vector<std::string> out;
    for (const auto& k : redis.command({"KEYS", "parley:{" + token + "}:*"}).elements) out.push_back(k.str);
    return out;
  }
  // A conversation of a new person, with a socket open on it.
  std::pair<std::string, std::string> open(ws_client& ws) {
    auto u = api("POST", "/api/users");
    EXPECT_EQ(u.status, 201);
    const auto user = field(u, "user");
    auto c = api("POST", "/api/conversations", user);
    EXPECT_EQ(c.status, 201);
    const auto token = field(c, "token");
    EXPECT_TRUE(ws.connect({.port = gateway.port(), .target = "/chat?token=" + token + "&user=" + user}));
    ws.read_json_type("ready");
    return {user, token};
  }
};

TEST_F(conversation_e2e, the_reply_keeps_the_conversations_own_expiry) {
  worker_process worker(redis.url(), dir.path(), "w1");
  ws_client ws;
  auto [user, token] = open(ws);
  frame_list frames;
  auto id = send_message(ws, "Hello Bot", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id))) << worker.log_text();
  for (const auto& key : keys_of(token)) {
    if (key.ends_with(":lease")) continue;
    EXPECT_GT(std::stoll(redis.command_str({"TTL", key})), 47 * 3600) << key;
  }
}

TEST_F(conversation_e2e, deleting_mid_reply_stops_it_and_leaves_no_key) {
  // The reply would run to the context's end, thousands of tokens away: only the delete ends it.
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--ignore-eos", "true", "--ctx-size", "4096", "--max-new-tokens", "4096", "--flush-tokens", "1"});
  ws_client ws;
  auto [user, token] = open(ws);
  frame_list frames;
  auto id = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id)));
  ASSERT_EQ(api("DELETE", "/api/conversations/" + token, user).status, 204);
  auto closed = ws.wait_closed(10s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->close_code, 4004);
  // The worker gives the turn up (its lease went with the conversation) and writes nothing more.
  ASSERT_TRUE(wait_until([&] { return worker.metric("parley_worker_active_sessions") == 0; }, 20s)) << worker.log_text();
  EXPECT_TRUE(keys_of(token).empty()) << keys_of(token).front();
  EXPECT_EQ(api("GET", "/api/conversations/" + token, user).status, 404);
}

TEST_F(conversation_e2e, a_stop_while_no_worker_runs_withdraws_the_message) {
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  auto id = send_message(ws, "Hello Bot", &frames);
  auto waiting = ws.read_json_type("waiting");
  EXPECT_EQ(waiting["workers"], 0);
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}})));
  ws.read_json_type("message_withdrawn");

  worker_process worker(redis.url(), dir.path(), "w1");
  ASSERT_TRUE(wait_until([&] { return json::parse(http_request({.port = gateway.port(), .target = "/readyz"}).body)
                                          .as_object()["workers"] == 1; }, 20s));
  auto next = send_message(ws, "Hello again", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", next))) << worker.log_text();
  // No reply of any kind, "Stopped" or empty, to the withdrawn message.
  EXPECT_FALSE(find_frame(frames, "reply_start", id));
  auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(json_str(messages[0].as_object(), "msg"), "Hello again");
  EXPECT_FALSE(messages[1].as_object().contains("stopped"));
  // A worker that stops removes its presence record.
  worker.proc().signal(SIGTERM);
  EXPECT_TRUE(wait_until([&] { return redis.command_str({"ZCARD", "parley:workers"}) == "0"; }, 20s));
}

}  // namespace
}  // namespace parley::test
