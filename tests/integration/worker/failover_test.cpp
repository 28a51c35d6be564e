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

// kill -9 of the session's master while its reply streams: replication is asynchronous, so the
// promoted replica may lack the last deltas; the worker's next write fails, the turn is claimed
// again and regenerated (reply_discard), and the client ends with the stored reply's exact text.
// A client resuming from an event the new master never got is told to resync.
TEST(cluster_failover, kill_9_of_the_sessions_master_mid_reply_ends_with_the_stored_reply) {
  temp_dir dir;
  redis_cluster cluster(dir.path() / "cluster");
  gateway_process gateway(cluster.url(), dir.path());
  // Long enough to be streaming when the master dies; a stop ends it once it is regenerated.
  worker_process worker(cluster.url(), dir.path(), "w1",
                        {"--ctx-size", "4096", "--max-new-tokens", "3000", "--ignore-eos", "true", "--flush-tokens", "1"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  const auto id = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id, 5)));
  fail_over(cluster, "parley:{" + token + "}:session", false);
  if (HasFatalFailure()) return;
  // The regenerated reply starts after a reply_discard; stop it once it streams again.
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_discard", id), 60s)) << worker.log_text() << gateway.log_text();
  const auto discarded = frames.size();
  ASSERT_TRUE(read_until(ws, frames, [&](const frame_list& f) {
    for (std::size_t i = discarded; i < f.size(); ++i)
      if (json_str(f[i], "type") == "delta") return true;
    return false;
  }, 60s));
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}})));
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id), 60s)) << worker.log_text() << gateway.log_text();
  EXPECT_TRUE(event_ids_increase(frames)) << "an event twice or out of order";
  const auto* end = find_frame(frames, "reply_end", id);
  // What the client assembled (from the last reply_discard on) is the stored reply, once.
  EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
  const auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 2u) << json::serialize(messages);
  EXPECT_EQ(json_str(messages[1].as_object(), "msg"), json_str(*end, "text"));
  EXPECT_EQ(bot_replies_to(messages, id), 1);
  // A tab that comes back with the last event it saw (the reply_end, which the new master has)
  // gets nothing again: the next frames are those of a new message.
  ws_client again;
  connect_chat(again, gateway.port(), token, last_event_id(frames));
  frame_list later;
  const auto next = send_message(again, "The end", &later);
  ASSERT_TRUE(read_until(again, later, has_frame("reply_start", next), 60s));
  for (const auto& f : later) EXPECT_NE(json_str(f, "reply_to"), id) << json::serialize(f);
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

std::string node_id(redis_server& node) { return node.command_str({"CLUSTER", "MYID"}); }

// A message sent with a client id, and the first answer to it: "ack", or the error's code.
std::string send_and_answer(ws_client& ws, const std::string& text, const std::string& client_id, frame_list& seen,
                            std::string* acked_id = nullptr) {
  EXPECT_TRUE(ws.send_text(json::serialize(json::object{{"type", "message"}, {"text", text}, {"client_id", client_id}})));
  const auto from = seen.size();
  std::string answer;
  read_until(
      ws, seen,
      [&](const frame_list& f) {
        for (std::size_t i = from; i < f.size(); ++i) {
          if (json_str(f[i], "client_id") != client_id) continue;
          if (json_str(f[i], "type") == "ack") {
            answer = "ack";
            if (acked_id) *acked_id = json_str(f[i], "id");
          } else if (json_str(f[i], "type") == "error") {
            answer = json_str(f[i], "code");
          }
        }
        return !answer.empty();
      },
      30s);
  return answer;
}

TEST(cluster_failover, a_slot_migrating_mid_conversation_refuses_for_a_moment_then_goes_on_at_its_new_master) {
  temp_dir dir;
  redis_cluster cluster(dir.path() / "cluster");
  gateway_process gateway(cluster.url(), dir.path());
  worker_process worker(cluster.url(), dir.path(), "w1", {"--max-new-tokens", "24"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  const auto first = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", first))) << worker.log_text();

  // Move the session's slot to another master the way redis-cli --cluster reshard does, and
  // stop half-way: every key is on the target already, the source still owns the slot. The
  // source answers ASK for the session's commands, the target TRYAGAIN for a script naming a key
  // it does not have.
  const std::string key = "parley:{" + token + "}:session";
  const auto slot = std::to_string(cluster.command({"CLUSTER", "KEYSLOT", key}).integer);
  auto& from = cluster.master_of(key);
  redis_server* to = nullptr;
  for (auto* m : cluster.masters())
    if (m != &from) to = m;
  ASSERT_TRUE(to);
  ASSERT_EQ(to->command_str({"CLUSTER", "SETSLOT", slot, "IMPORTING", node_id(from)}), "OK");
  ASSERT_EQ(from.command_str({"CLUSTER", "SETSLOT", slot, "MIGRATING", node_id(*to)}), "OK");
  const auto keys = from.command({"CLUSTER", "GETKEYSINSLOT", slot, "1000"});
  ASSERT_FALSE(keys.elements.empty());
  std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(to->port()), "", "0", "5000", "KEYS"};
  for (const auto& k : keys.elements) migrate.push_back(k.str);
  ASSERT_EQ(from.command(migrate).str, "OK");

  // A script names every key of the session, and some exist only now and then (lease, stop,
  // attempts): the target answers TRYAGAIN while one of them is missing, so the client retries
  // for a moment (docs/design.md) and then the gateway refuses with `unavailable`, nothing
  // written, or, if every key was there, ASK took the message to the target.
  std::string second;
  const auto during = send_and_answer(ws, "And then?", "during-migration", frames, &second);
  EXPECT_TRUE(during == "ack" || during == "unavailable") << during;

  // The migration ends: every node learns the new owner, the old one tells subscribers their
  // channel moved (sunsubscribe), and the gateway follows it and replays what it missed.
  for (std::size_t i = 0; i < cluster.size(); ++i)
    cluster.node(i).command({"CLUSTER", "SETSLOT", slot, "NODE", node_id(*to)});
  ASSERT_TRUE(cluster.wait_ok());
  if (during != "ack") {
    // The documented answer to `unavailable`: the same message again, with its client id.
    std::string answer;
    for (int tries = 0; tries < 10 && answer != "ack"; ++tries)
      answer = send_and_answer(ws, "And then?", "during-migration", frames, &second);
    ASSERT_EQ(answer, "ack") << gateway.log_text();
  }
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", second), 60s)) << worker.log_text() << gateway.log_text();
  EXPECT_TRUE(event_ids_increase(frames)) << "an event twice or out of order";
  EXPECT_EQ(assembled_reply(frames, second), json_str(*find_frame(frames, "reply_end", second), "text"));

  // And on at the new owner (MOVED, then the refreshed map).
  frame_list after;
  const auto third = send_message(ws, "What happened next?", &after);
  ASSERT_TRUE(read_until(ws, after, has_frame("reply_end", third), 60s)) << worker.log_text();
  const auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 6u) << json::serialize(messages);
  for (const auto& id : {first, second, third}) EXPECT_EQ(bot_replies_to(messages, id), 1) << id;
  EXPECT_EQ(&cluster.master_of(key), to);
}

TEST(cluster_failover, a_master_lost_without_a_replica_refuses_clearly_and_recovers_when_it_returns) {
  temp_dir dir;
  // No replicas: nothing can take over. AOF with fsync always, so the returning master has every
  // write it acknowledged.
  redis_cluster cluster(dir.path() / "cluster",
                        {.masters = 3, .replicas = 0, .extra_args = {"--appendonly", "yes", "--appendfsync", "always"}});
  gateway_process gateway(cluster.url(), dir.path());
  worker_process worker(cluster.url(), dir.path(), "w1", {"--max-new-tokens", "16"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  frame_list frames;
  const auto first = send_message(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", first))) << worker.log_text();

  const std::string key = "parley:{" + token + "}:session";
  auto& master = cluster.master_of(key);
  master.proc().signal(SIGKILL);
  master.proc().wait_exit(5s);
  // While it is gone (and, after cluster-node-timeout, the whole cluster is down: a cluster
  // needs every slot served), a message is refused with the documented code, nothing stored.
  const auto refused = send_and_answer(ws, "Anyone there?", "while-down", frames);
  EXPECT_EQ(refused, "unavailable") << gateway.log_text();
  // Once the others count it as failed (cluster-node-timeout), every slot is refused
  // (CLUSTERDOWN): a conversation on another master is refused the same way.
  ASSERT_TRUE(wait_until([&] {
    for (auto* m : cluster.masters())
      if (m->command_str({"CLUSTER", "INFO"}).find("cluster_state:fail") != std::string::npos) return true;
    return false;
  }, 20s));
  EXPECT_EQ(send_and_answer(ws, "Anyone there?", "while-down", frames), "unavailable");
  EXPECT_EQ(http_request({.port = gateway.port(), .method = "POST", .target = "/token?name=x"}).status, 503);

  // The master comes back with its data: the resend (same client id) is accepted once and
  // answered, and the conversation goes on where it was.
  master.start();
  ASSERT_TRUE(cluster.wait_ok());
  std::string second;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string answer;
  while (std::chrono::steady_clock::now() < deadline && (answer = send_and_answer(ws, "Anyone there?", "while-down", frames, &second)) != "ack")
    EXPECT_EQ(answer, "unavailable");
  ASSERT_EQ(answer, "ack");
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", second), 60s)) << worker.log_text() << gateway.log_text();
  const auto messages = history(gateway.port(), token);
  ASSERT_EQ(messages.size(), 4u) << json::serialize(messages);
  EXPECT_EQ(bot_replies_to(messages, first), 1);
  EXPECT_EQ(bot_replies_to(messages, second), 1);
}

}  // namespace
}  // namespace parley::test
