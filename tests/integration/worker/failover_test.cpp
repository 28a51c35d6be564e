// Redis Cluster failover under a running Parley: a private 3-master / 3-replica cluster (a master
// is killed here, so the shared one cannot be used), the real gateway and worker given every
// node as a seed, a conversation before and after the masters holding the request stream and
// the session are killed with SIGKILL and their replicas take over.
#include <parley/keys.hpp>
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// Kills the master serving `key` (with `wait_first`, once its replica has every write: WAIT), and
// waits until the replica serves its slots.
void fail_over(redis_cluster& cluster, const std::string& key, bool wait_first = true) {
  auto& master = cluster.master_of(key);
  if (wait_first) {
    const auto acked = master.command({"WAIT", "1", "5000"});
    ASSERT_EQ(acked.integer, 1) << "the replica did not catch up";
  }
  master.proc().signal(SIGKILL);
  master.proc().wait_exit(5s);
  // The survivors notice after cluster-node-timeout; until a replica is promoted, the slot map
  // still names the dead master (and a second master killed meanwhile would leave no majority
  // to elect anyone).
  auto promoted = [&] {
    try {
      return &cluster.master_of(key) != &master && cluster.wait_ok(1s);
    } catch (const std::runtime_error&) {
      return false;  // no node serves the slot for the moment
    }
  };
  ASSERT_TRUE(wait_until(promoted, 30s)) << "no replica took over";
}

// Sends a message with a client id until it is acked: right after a failover the gateway may
// still answer `unavailable` (its slot map is refreshed when a node is lost), and the documented
// client action is a resend with the same id, once the gateway is ready again.
std::string send_until_acked(ws_client& ws, std::uint16_t port, const std::string& text, const std::string& client_id,
                             frame_list& seen) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!wait_until([&] { return http_request({.port = port, .target = "/readyz"}).status == 200; }, 10s)) continue;
    EXPECT_TRUE(ws.send_text(
        json::serialize(json::object{{"type", "message"}, {"text", text}, {"client_id", client_id}})));
    const auto from = seen.size();
    std::string acked;
    bool refused = false;
    read_until(
        ws, seen,
        [&](const frame_list& f) {
          for (std::size_t i = from; i < f.size(); ++i) {
            if (json_str(f[i], "type") == "ack") acked = json_str(f[i], "id");
            if (json_str(f[i], "type") == "error" && json_str(f[i], "code") == "unavailable") refused = true;
          }
          return !acked.empty() || refused;
        },
        10s);
    if (!acked.empty()) return acked;
  }
  ADD_FAILURE() << "no ack within 30 s of the failover";
  return {};
}

TEST(cluster_failover, a_conversation_goes_on_after_its_masters_are_killed) {
  temp_dir dir;
  redis_cluster cluster(dir.path() / "cluster");
  gateway_process gateway(cluster.url(), dir.path());
  worker_process worker(cluster.url(), dir.path(), "w1");
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  auto first = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", first))) << worker.log_text();

  // The session's request shard (the harness runs the cluster with one per master).
  const auto requests = parley::keys::request_streams(default_request_shards(cluster.url())).stream_of(token);
  fail_over(cluster, requests);
  if (HasFatalFailure()) return;
  const std::string session_key = "parley:{" + token + "}:session";
  if (&cluster.master_of(session_key) != &cluster.master_of(requests)) fail_over(cluster, session_key);
  if (HasFatalFailure()) return;

  frame_list after;
  const auto second = send_until_acked(ws, gateway.port(), "And then?", "after-failover", after);
  ASSERT_FALSE(second.empty());
  ASSERT_TRUE(read_until(ws, after, has_frame("reply_end", second), 60s)) << worker.log_text() << gateway.log_text();
  // Both turns and both replies are there, each once.
  auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 4u) << json::serialize(messages);
  EXPECT_EQ(bot_replies_to(messages, first), 1);
  EXPECT_EQ(bot_replies_to(messages, second), 1);
  // A new conversation works too: its keys may live on any master, old or promoted.
  const auto other = new_session(gateway.port());
  ws_client ws2;
  connect_chat(ws2, gateway.port(), other);
  frame_list f2;
  auto id = send_message(ws2, "Hello", &f2);
  EXPECT_TRUE(read_until(ws2, f2, has_frame("reply_end", id), 60s)) << worker.log_text();
}

// With --redis-wait-replicas 1 an ack means a replica holds the message: the master killed right
// after the ack (no WAIT of the test's own this time) loses nothing acknowledged.
TEST(cluster_failover, with_wait_replicas_no_acknowledged_message_is_lost) {
  temp_dir dir;
  redis_cluster cluster(dir.path() / "cluster");
  gateway_process gateway(cluster.url(), dir.path(), {"--redis-wait-replicas", "1"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  // On a busy machine a replica may confirm later than --redis-wait-timeout: the client resends.
  const auto id = send_until_acked(ws, gateway.port(), "Remember me", "kept", frames);
  ASSERT_FALSE(id.empty());
  fail_over(cluster, "parley:{" + token + "}:session", false);
  if (HasFatalFailure()) return;
  // Until the gateway has the new slot map, reads of the session answer 503 (a client retries).
  ASSERT_TRUE(wait_until(
      [&] { return http_request({.port = gateway.port(), .target = "/refresh_token?token=" + token}).status == 200; },
      30s));
  // Redis Cluster promoted the replica: the acknowledged message is there, with its request entry.
  const auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(json_str(messages[0].as_object(), "id"), id);
  worker_process worker(cluster.url(), dir.path(), "w1");
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id), 60s)) << worker.log_text();
}

// CLUSTER FAILOVER mid-reply (a planned switch: no data lost): the old master of the session's
// slot becomes a replica and pushes `sunsubscribe` for the session's channel; the gateway moves the
// subscription to the new master and replays from the event stream, so the client gets the whole
// reply, every event once.
TEST(cluster_failover, a_planned_failover_mid_reply_misses_and_doubles_nothing) {
  temp_dir dir;
  redis_cluster cluster(dir.path() / "cluster");
  gateway_process gateway(cluster.url(), dir.path());
  worker_process worker(cluster.url(), dir.path(), "w1",
                        {"--ctx-size", "8192", "--max-new-tokens", "8000", "--ignore-eos", "true", "--flush-tokens", "1"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  const auto id = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id)));

  const std::string key = "parley:{" + token + "}:session";
  auto& master = cluster.master_of(key);
  redis_server* replica = nullptr;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    auto& n = cluster.node(i);
    const auto info = n.command_str({"INFO", "replication"});
    if (info.find("role:slave") != std::string::npos &&
        info.find("master_port:" + std::to_string(master.port()) + "\r") != std::string::npos)
      replica = &n;
  }
  ASSERT_TRUE(replica) << "no replica of the session's master";
  // A manual failover that does not complete within Redis's 5 s (a busy machine) is abandoned
  // by Redis, not retried: ask again until the replica is promoted.
  bool promoted = false;
  for (int ask = 0; ask < 4 && !promoted; ++ask) {
    ASSERT_EQ(replica->command_str({"CLUSTER", "FAILOVER"}), "OK");
    promoted = wait_until([&] { return &cluster.master_of(key) == replica; }, 6s);
  }
  ASSERT_TRUE(promoted) << "the replica was not promoted";
  const auto promoted_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  // A reply of thousands of tokens is still streaming; ending it with a stop keeps the test short
  // however long the failover took.
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}})));

  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id), 60s)) << worker.log_text() << gateway.log_text();
  EXPECT_TRUE(event_ids_increase(frames)) << "an event twice or out of order";
  const auto* end = find_frame(frames, "reply_end", id);
  // The reply was still being written when the new master took over: its later events reached
  // the client through the moved subscription (or the replay after it).
  ASSERT_TRUE(end->contains("end_us"));
  EXPECT_GT(end->at("end_us").as_int64(), promoted_us) << "the reply ended before the failover: make it longer";
  EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
  const auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(json_str(messages[1].as_object(), "msg"), json_str(*end, "text"));
}

}  // namespace
}  // namespace parley::test
