// Honest waiting on the real gateway (docs/protocol.md, `waiting`, `message_withdrawn`): the
// live-worker count in /readyz and metrics, a message accepted with no worker alive and said so
// at once, its place in the queue as the queue moves, the Redis cost of that, and a stop before
// any reply started withdrawing the message. Workers appear as their presence record and their
// consumer-group reads, written straight to Redis.
#include "fixture.hpp"

#include <map>

namespace gw_test {

namespace {
const std::string no_model = "No model is running right now. Your message is saved and will be answered when one starts.";
}

class Waiting : public GatewayTest {
 protected:
  void SetUp() override { start(with_metrics({"--queue-sample-interval", "50ms"})); }

  // A worker's presence record, alive for `for_ms`.
  void worker_alive(const std::string& name, long long for_ms = 60000) {
    using namespace std::chrono;
    const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    redis().command({"ZADD", "parley:workers", std::to_string(now + for_ms), name});
  }
  // A worker takes `n` requests off the queue.
  void worker_reads(int n) {
    redis().command({"XGROUP", "CREATE", "parley:requests", "parley-workers", "0", "MKSTREAM"});
    redis().command({"XREADGROUP", "GROUP", "parley-workers", "w", "COUNT", std::to_string(n), "STREAMS",
                     "parley:requests", ">"});
  }
  std::string send(pt::ws_client& ws, const std::string& text) {
    ws.send_text(json::serialize(json::object{{"type", "message"}, {"text", text}}));
    return std::string(ws.read_json_type("ack")["id"].as_string());
  }
  // Commands Redis ran, by name (INFO commandstats), without this test's own INFO calls.
  std::map<std::string, long long> command_calls() {
    std::map<std::string, long long> out;
    std::istringstream lines(redis().command_str({"INFO", "commandstats"}));
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("cmdstat_")) continue;
      const auto colon = line.find(':');
      const auto name = line.substr(8, colon - 8);
      if (name != "info") out[name] = std::stoll(line.substr(line.find("calls=") + 6));
    }
    return out;
  }
  static long long total(const std::map<std::string, long long>& calls) {
    long long n = 0;
    for (const auto& [name, c] : calls) n += c;
    return n;
  }
};

TEST_F(Waiting, ReadinessAndMetricsCountLiveWorkers) {
  ASSERT_TRUE(pt::wait_until([&] { return body_of(get("/readyz")).contains("workers"); }, 5s));
  auto none = get("/readyz");
  EXPECT_EQ(none.status, 200);  // messages are still accepted
  EXPECT_EQ(none.body, R"({"status":"ready","workers":0,"detail":"No worker is running: messages are queued until one starts"})");
  EXPECT_EQ(sample(scrape(), "parley_gateway_workers_alive"), 0);
  worker_alive("w1");
  worker_alive("w2");
  worker_alive("gone", -1000);  // its record expired: not alive
  ASSERT_TRUE(pt::wait_until([&] { return get("/readyz").body == R"({"status":"ready","workers":2})"; }, 5s));
  EXPECT_EQ(sample(scrape(), "parley_gateway_workers_alive"), 2);
}

TEST_F(Waiting, WithNoWorkerTheMessageIsAcceptedAndTheClientToldAtOnce) {
  ASSERT_TRUE(pt::wait_until([&] { return body_of(get("/readyz")).contains("workers"); }, 5s));
  auto token = new_session();
  auto ws = connect(token, {}, true);
  const auto id = send(*ws, "anyone there?");
  auto w = ws->read_json_type("waiting", 2s);
  EXPECT_EQ(w["reply_to"], id.c_str());
  EXPECT_EQ(w["workers"], 0);
  EXPECT_EQ(w["message"], no_model.c_str());
  EXPECT_EQ(history_length(token), 1);
  EXPECT_EQ(requests_length(), 1);
  // A worker starts: the same message is now first in line.
  worker_alive("w1");
  auto next = ws->read_json_type("waiting", 5s);
  EXPECT_EQ(next["workers"], 1);
  EXPECT_EQ(next["ahead"], 0);
  EXPECT_EQ(next["message"], "You are next");
}

TEST_F(Waiting, ThePlaceInTheQueueFollowsTheQueue) {
  worker_alive("w1");
  ASSERT_TRUE(pt::wait_until([&] { return get("/readyz").body == R"({"status":"ready","workers":1})"; }, 5s));
  for (int i = 0; i < 3; ++i) {
    auto other = connect(new_session(), {}, true);
    send(*other, "before you");
  }
  auto ws = connect(new_session(), {}, true);
  const auto id = send(*ws, "me");
  auto first = ws->read_json_type("waiting", 5s);
  // Sent at once from the last sample, which may predate the three: then the next one corrects it.
  while (first["ahead"] != 3) first = ws->read_json_type("waiting", 5s);
  EXPECT_EQ(first["message"], "3 messages ahead of you");
  worker_reads(1);
  EXPECT_EQ(ws->read_json_type("waiting", 5s)["ahead"], 2);
  worker_reads(2);
  auto last = ws->read_json_type("waiting", 5s);
  EXPECT_EQ(last["ahead"], 0);
  // Three entries taken within the window: the gateway can tell how long the wait is.
  EXPECT_TRUE(last.contains("eta_ms")) << json::serialize(last);
  EXPECT_EQ(last["message"], "You are next, a few seconds");
  worker_reads(1);  // ours: a worker has it, no more waiting frames
  ws->send_text(R"({"type":"ping"})");
  std::vector<json::object> skipped;
  ws->read_json_type("pong", 5s, &skipped);
  redis().command({"XADD", "parley:requests", "*", "token", "t", "seq", "1", "id", "1-0"});
  ws->send_text(R"({"type":"ping"})");
  ws->read_json_type("pong", 5s, &skipped);
  for (const auto& f : skipped) EXPECT_NE(f.at("type"), "waiting") << json::serialize(f);
}

// However many messages wait, the gateway samples the queue with two commands per interval
// (the queue script and ZCOUNT): positions are read from that sample, not asked per socket.
// Measured: 20 waiting sockets, 5 commands per sample in all (docs/design.md, "Honest waiting").
TEST_F(Waiting, PositionsCostTheSameRedisCommandsForOneOrManyWaiting) {
  worker_alive("w1");
  std::vector<std::unique_ptr<pt::ws_client>> sockets;
  for (int i = 0; i < 20; ++i) {
    sockets.push_back(connect(new_session(), {}, true));
    send(*sockets.back(), "waiting");
  }
  const auto before = command_calls();
  ASSERT_TRUE(pt::wait_until([&] { return command_calls()["zcount"] >= before.at("zcount") + 20; }, 10s));
  auto after = command_calls();
  const auto samples = after["zcount"] - before.at("zcount");
  const auto spent = total(after) - total(before);
  // Per sample: EVALSHA of the queue script (which runs EXISTS, XINFO GROUPS and one XRANGE of at
  // most MAX_QUEUE ids, each counted by Redis too) and ZCOUNT; one sample may be in flight.
  std::string by_name;
  for (const auto& [name, c] : after) by_name += name + "=" + std::to_string(c - (before.count(name) ? before.at(name) : 0)) + " ";
  EXPECT_LE(spent, samples * 5 + 5) << spent << " commands over " << samples << " samples: " << by_name;
  EXPECT_GE(spent, samples * 2);
}

TEST_F(Waiting, AStopBeforeAnyReplyWithdrawsTheMessage) {
  auto token = new_session();
  auto ws = connect(token, {}, true);
  const auto keep = send(*ws, "keep this one");
  // The first one is answered (as a worker would), the second waits.
  redis().command({"HSET", "parley:{" + token + "}:session", "done_seq", "1"});
  const auto id = send(*ws, "never mind");
  ASSERT_EQ(requests_length(), 2);
  ws->send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}}));
  auto w = ws->read_json_type("message_withdrawn", 5s);
  EXPECT_EQ(w["message_id"], id.c_str());
  EXPECT_EQ(w["seq"], 2);
  EXPECT_FALSE(std::string(w["id"].as_string()).empty());
  // Gone from the history and the queue; no stop key, so no worker writes an empty "Stopped" reply.
  auto refreshed = body_of(get("/refresh_token?token=" + token));
  auto& msgs = refreshed["messages"].as_array();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].as_object().at("id"), keep.c_str());
  EXPECT_EQ(requests_length(), 1);
  EXPECT_EQ(redis().command_str({"HGET", "parley:{" + token + "}:session", "done_seq"}), "2");
  EXPECT_EQ(redis().command_str({"EXISTS", "parley:{" + token + "}:stop"}), "0");
  // A second tab resuming sees the event too.
  auto other = connect(token, "0-0", true);
  std::vector<json::object> seen;
  other->read_json_type("message_withdrawn", 5s, &seen);

  // A reply that has started is stopped as before.
  const auto third = send(*ws, "and this");
  redis().command({"HSET", "parley:{" + token + "}:attempts", "3", "1"});
  ws->send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", third}}));
  ASSERT_TRUE(pt::wait_until([&] { return redis().command_str({"GET", "parley:{" + token + "}:stop"}) == third; }, 5s));
  EXPECT_EQ(history_length(token), 2);
}

}  // namespace gw_test
