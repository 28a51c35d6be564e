// parley-worker end to end: real redis-server, parley-gateway and parley-worker processes, a
// real model, a WebSocket client. docs/design.md is the protocol under test. Every test runs on a
// standalone redis-server and on the shared Redis Cluster (3 masters + 3 replicas).
#include <parley/keys.hpp>
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <fstream>
#include <iterator>
#include <sstream>
#include <memory>
#include <optional>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class worker_e2e : public ::testing::TestWithParam<redis_kind> {
 protected:
  temp_dir dir;
  redis_under_test redis{GetParam(), dir.path()};
  std::optional<gateway_process> gateway;

  void start_gateway(std::vector<std::string> args = {}) { gateway.emplace(redis.url(), dir.path(), std::move(args)); }
  std::string new_session() { return parley::test::new_session(gateway->port()); }
  void connect(ws_client& ws, const std::string& token, const std::string& last_event_id = "") {
    connect_chat(ws, gateway->port(), token, last_event_id);
  }
  std::string send(ws_client& ws, const std::string& text, frame_list* seen = nullptr) {
    return send_message(ws, text, seen);
  }
  json::array history(const std::string& token) { return parley::test::history(gateway->port(), token); }
};

TEST_P(worker_e2e, a_chat_over_websocket_streams_the_reply_and_stores_it) {
  start_gateway();
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  auto id = send(ws, "Hello Bot", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id))) << worker.log_text();
  ASSERT_TRUE(find_frame(frames, "reply_start", id));
  const auto* end = find_frame(frames, "reply_end", id);
  EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
  for (const auto& f : frames) {
    if (json_str(f, "type") != "ack" && json_str(f, "type") != "waiting") {  // gateway frames: no id
      EXPECT_FALSE(json_str(f, "id").empty()) << json::serialize(f);
    }
  }
  auto messages = history(token);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(json_str(messages[1].as_object(), "msg"), json_str(*end, "text"));
  EXPECT_EQ(json_str(messages[1].as_object(), "id"), json_str(*end, "message_id"));
}

TEST_P(worker_e2e, five_messages_sent_at_once_are_answered_in_order) {
  start_gateway();
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  for (int i = 1; i <= 5; ++i)
    ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "message"}, {"text", "Message " + std::to_string(i)}})));
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", "", 5))) << worker.log_text();
  std::vector<std::string> acked, answered;
  for (const auto& f : frames) {
    if (json_str(f, "type") == "ack") acked.push_back(json_str(f, "id"));
    if (json_str(f, "type") == "reply_end") answered.push_back(json_str(f, "reply_to"));
  }
  EXPECT_EQ(acked, answered);
  // Replies never interleave: each reply_start comes after the previous reply_end.
  int open = 0;
  for (const auto& f : frames) {
    if (json_str(f, "type") == "reply_start") {
      EXPECT_EQ(open++, 0);
    }
    if (json_str(f, "type") == "reply_end") --open;
  }
  auto messages = history(token);
  for (const auto& id : acked) EXPECT_EQ(bot_replies_to(messages, id), 1);
}

TEST_P(worker_e2e, kill_9_mid_reply_hands_the_turn_to_another_worker) {
  start_gateway();
  std::vector<std::string> slow{"--max-new-tokens", "400", "--flush-tokens", "1"};
  std::optional<worker_process> w1, w2;
  w1.emplace(redis.url(), dir.path(), "w1", slow);
  w2.emplace(redis.url(), dir.path(), "w2", slow);
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  bool killed_mid_reply = false;
  for (int round = 0; round < 3 && !killed_mid_reply; ++round) {
    frame_list frames;
    auto id = send(ws, "Once upon a time", &frames);
    ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id)));
    const auto holder = redis.command_str({"GET", "parley:{" + token + "}:lease"});
    if (holder.empty() || find_frame(frames, "reply_end", id)) {
      ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id)));
      continue;  // the reply finished before the kill: try a longer one
    }
    auto& victim = holder.starts_with("w1/") ? *w1 : *w2;
    victim.proc().signal(SIGKILL);
    victim.proc().wait_exit(5s);
    killed_mid_reply = true;
    ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id))) << w1->log_text() << w2->log_text();
    ASSERT_TRUE(find_frame(frames, "reply_discard", id)) << "no reply_discard after the takeover";
    const auto* end = find_frame(frames, "reply_end", id);
    EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
    EXPECT_EQ(bot_replies_to(history(token), id), 1);
  }
  EXPECT_TRUE(killed_mid_reply) << "every reply ended before the worker could be killed";
}

TEST_P(worker_e2e, resuming_after_a_disconnect_mid_reply_gives_identical_text) {
  start_gateway();
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "200", "--flush-tokens", "1"});
  auto token = new_session();
  frame_list frames;
  std::string id;
  {
    ws_client ws;
    connect(ws, token);
    id = send(ws, "Once upon a time", &frames);
    ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id)));
    ws.drop();
  }
  ws_client again;
  connect(again, token, last_event_id(frames));
  ASSERT_TRUE(read_until(again, frames, has_frame("reply_end", id))) << worker.log_text();
  // No event twice, none missing: the ids are strictly increasing across both connections.
  EXPECT_TRUE(event_ids_increase(frames));
  const auto* end = find_frame(frames, "reply_end", id);
  EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
  auto messages = history(token);
  EXPECT_EQ(json_str(messages.back().as_object(), "msg"), json_str(*end, "text"));
}

TEST_P(worker_e2e, stop_ends_the_reply_and_keeps_the_partial_text) {
  start_gateway();
  // Only a stop ends this reply before the context's end, thousands of tokens away (no end token
  // is ever sampled); the lease outlasts the pause below.
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--ignore-eos", "true", "--ctx-size", "4096", "--max-new-tokens", "4096", "--flush-tokens",
                         "1", "--lease-ttl", "10s", "--claim-min-idle", "15s"});
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  auto id = send(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("delta", id)));
  // Frozen while the stop travels to Redis, the worker resumes with the stop already waiting for
  // it, the reply still thousands of tokens from its end.
  worker.proc().signal(SIGSTOP);
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}})));
  const bool stop_stored = wait_until(
      [&] { return redis.command_str({"EXISTS", "parley:{" + token + "}:stop"}) == "1"; }, 10s);
  worker.proc().signal(SIGCONT);
  ASSERT_TRUE(stop_stored);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id))) << worker.log_text();
  const auto* end = find_frame(frames, "reply_end", id);
  auto* stopped = end->if_contains("stopped");
  ASSERT_TRUE(stopped) << json::serialize(*end);
  EXPECT_TRUE(stopped->as_bool());
  EXPECT_EQ(assembled_reply(frames, id), json_str(*end, "text"));
  auto messages = history(token);
  EXPECT_TRUE(messages.back().as_object().at("stopped").as_bool());
}

TEST_P(worker_e2e, two_sessions_are_decoded_in_the_same_batch) {
  start_gateway();
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "200", "--parallel", "4"});
  auto t1 = new_session();
  auto t2 = new_session();
  ws_client a, b;
  connect(a, t1);
  connect(b, t2);
  frame_list fa, fb;
  auto ia = send(a, "Once upon a time", &fa);
  auto ib = send(b, "The little dog", &fb);
  ASSERT_TRUE(read_until(a, fa, has_frame("reply_end", ia)));
  ASSERT_TRUE(read_until(b, fb, has_frame("reply_end", ib)));
  EXPECT_GE(worker.metric("parley_llama_batch_sequences_max"), 2) << worker.metrics();
}

TEST_P(worker_e2e, the_second_turn_prefills_only_new_tokens) {
  start_gateway();
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  auto first = send(ws, "Once upon a time", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", first)));
  const double prefilled_first = worker.metric("parley_llama_prompt_tokens_total");
  EXPECT_EQ(worker.metric("parley_llama_cache_hit_tokens_total"), 0);
  auto second = send(ws, "Then what happened?", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", second)));
  const double cached = worker.metric("parley_llama_cache_hit_tokens_total");
  const double prefilled_second = worker.metric("parley_llama_prompt_tokens_total") - prefilled_first;
  EXPECT_GT(cached, 0) << worker.metrics();
  // The second prompt starts with the whole first prompt, which stays cached (the last prompt
  // token may be decoded again for its logits). Within the first reply, reuse lasts as far as
  // re-tokenizing the reply text gives back the sampled tokens, which a model may not do.
  EXPECT_GE(cached, prefilled_first - 1) << worker.metrics();
  EXPECT_GT(prefilled_second, 0) << worker.metrics();
}

TEST_P(worker_e2e, a_full_queue_answers_busy) {
  // No worker runs: requests pile up until the gateway's bound.
  start_gateway({"--max-queue", "2", "--queue-sample-interval", "100ms", "--rate-burst", "100"});
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  // Two messages fill the queue to its bound; once the gateway has sampled that, it refuses more.
  for (int i = 0; i < 2; ++i) send(ws, "hi " + std::to_string(i));
  ASSERT_TRUE(wait_until(
      [&] { return gateway->log_text().find("refusing new messages (busy)") != std::string::npos; }, 10s))
      << gateway->log_text();
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "message"}, {"text", "hi 2"}})));
  auto busy = ws.read_json_type("error", 10s);
  EXPECT_EQ(json_str(busy, "code"), "busy");
  EXPECT_GT(busy.at("retry_after_ms").to_number<long long>(), 0);
  // The messages that were accepted are answered once a worker runs.
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "8"});
  frame_list frames;
  EXPECT_TRUE(read_until(ws, frames, has_frame("reply_end", "", 2))) << worker.log_text();
}

TEST_P(worker_e2e, a_message_failing_every_attempt_is_dead_lettered_with_an_error_frame) {
  start_gateway();
  // An upstream that refuses every connection: each attempt fails.
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--backend", "openai", "--openai-base-url", "http://127.0.0.1:" + std::to_string(free_port()),
                         "--openai-max-attempts", "1", "--max-attempts", "2"});
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  auto id = send(ws, "Hello", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("error", id))) << worker.log_text();
  const auto* err = find_frame(frames, "error", id);
  EXPECT_EQ(json_str(*err, "code"), "model_failed");
  EXPECT_FALSE(json_str(*err, "id").empty());
  auto dl = redis.command({"XRANGE", "parley:deadletter", "-", "+"});
  ASSERT_EQ(dl.elements.size(), 1u);
  auto messages = history(token);
  EXPECT_EQ(json_str(messages.back().as_object(), "error"), "model_failed");
  EXPECT_EQ(worker.metric("parley_worker_dead_letters_total"), 1);
}

TEST_P(worker_e2e, two_gateways_serve_one_session) {
  start_gateway();
  gateway_process other(redis.url(), dir.path());
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "16"});
  auto token = new_session();
  ws_client a, b;
  connect(a, token);
  connect_chat(b, other.port(), token, "");
  frame_list fa, fb;
  auto id = send(b, "Hello from the second gateway", &fb);
  ASSERT_TRUE(read_until(b, fb, has_frame("reply_end", id))) << worker.log_text();
  // The tab on the first gateway sees the same turn, event for event.
  ASSERT_TRUE(read_until(a, fa, has_frame("reply_end", id))) << gateway->log_text();
  EXPECT_EQ(assembled_reply(fa, id), assembled_reply(fb, id));
  EXPECT_EQ(bot_replies_to(history(token), id), 1);
}

TEST_P(worker_e2e, every_request_shard_is_read_and_a_worker_holds_no_more_entries_than_slots) {
  // Three shards on standalone Redis too (the harness gives the cluster one per master anyway).
  start_gateway({"--request-shards", "3"});
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--request-shards", "3", "--max-concurrent-turns", "2", "--max-new-tokens", "24"});
  const keys::request_streams streams(3);
  std::vector<std::string> tokens;
  std::array<int, 3> per_shard{};
  while (*std::min_element(per_shard.begin(), per_shard.end()) < 2) {
    auto t = new_session();
    auto& n = per_shard[static_cast<std::size_t>(streams.shard_of(t))];
    if (n < 2) {
      ++n;
      tokens.push_back(t);
    }
  }
  std::vector<std::unique_ptr<ws_client>> sockets;
  std::vector<std::string> ids;
  for (const auto& t : tokens) {
    sockets.push_back(std::make_unique<ws_client>());
    connect(*sockets.back(), t);
    ids.push_back(send(*sockets.back(), "Once upon a time"));
  }
  // An entry a worker has read is pending under its name until it acks it: never more than its
  // two slots, across all three shards, while six sessions wait. One script reads all three
  // at one instant, which only a single node can do; on the cluster the same code (read_budget)
  // holds the line, and the check here is that every shard is read and every message answered.
  long long most_held = 0;
  const auto answered = [&] {
    if (!redis.is_cluster()) {
      const auto held = redis.command(
          {"EVAL",
           "local n = 0 for _, k in ipairs(KEYS) do if redis.call('EXISTS', k) == 1 then "
           "local ok, p = pcall(redis.call, 'XPENDING', k, 'parley-workers') if ok then n = n + p[1] end end end return n",
           "3", streams.stream(0), streams.stream(1), streams.stream(2)});
      most_held = std::max(most_held, held.integer);
    }
    for (const auto& t : tokens)
      if (redis.command_str({"LLEN", "parley:{" + t + "}:history"}) != "2") return false;
    return true;
  };
  ASSERT_TRUE(wait_until(answered, 120s)) << worker.log_text();
  if (!redis.is_cluster()) {
    EXPECT_LE(most_held, 2);
    EXPECT_GE(most_held, 1);
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) EXPECT_EQ(bot_replies_to(history(tokens[i]), ids[i]), 1);
  for (int s = 0; s < streams.size(); ++s) {
    const auto info = redis.command({"XINFO", "STREAM", streams.stream(s)});
    long long added = -1;
    for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2)
      if (info.elements[i].str == "entries-added") added = info.elements[i + 1].integer;
    EXPECT_EQ(added, 2) << streams.stream(s);
  }
}

TEST_P(worker_e2e, a_busy_shard_takes_the_slots_that_readers_of_quiet_shards_hold) {
  // Three shards, three slots: each reader holds one while it blocks. Two sessions of one shard:
  // once the first is taken, the second must not wait for a quiet shard's read to time out (30 s
  // here) or the first reply to end (thousands of tokens): its reader unblocks a quiet one.
  start_gateway({"--request-shards", "3"});
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--request-shards", "3", "--max-concurrent-turns", "3", "--parallel", "3", "--read-block", "30s",
                         "--consumer-expiry", "10m", "--ignore-eos", "true", "--ctx-size", "16384",
                         "--max-new-tokens", "16000", "--flush-tokens", "16"});
  const keys::request_streams streams(3);
  const auto t1 = new_session();
  std::string t2;
  while (t2.empty() || streams.shard_of(t2) != streams.shard_of(t1)) t2 = new_session();
  ws_client a, b;
  connect(a, t1);
  connect(b, t2);
  frame_list fa, fb;
  const auto ia = send(a, "Once upon a time", &fa);
  ASSERT_TRUE(read_until(a, fa, has_frame("delta", ia))) << worker.log_text();
  const auto ib = send(b, "The little dog", &fb);
  ASSERT_TRUE(read_until(b, fb, has_frame("delta", ib), 10s)) << worker.log_text();
  // Both generate at once; the first was still going when the second started.
  EXPECT_FALSE(find_frame(fa, "reply_end", ia));
  for (const auto& [ws, id] : {std::pair{&a, ia}, std::pair{&b, ib}})
    ASSERT_TRUE(ws->send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", id}})));
  ASSERT_TRUE(read_until(a, fa, has_frame("reply_end", ia), 30s));
  ASSERT_TRUE(read_until(b, fb, has_frame("reply_end", ib), 30s));
}

TEST_P(worker_e2e, a_worker_that_splits_the_queue_differently_exits_2_naming_both_counts) {
  start_gateway({"--request-shards", "3"});
  ASSERT_TRUE(wait_until([&] { return redis.command_str({"GET", "parley:request_shards"}) == "3"; }, 10s));
  const auto worker = run_to_exit({.argv = {worker_binary(), "--redis-url", redis.url(), "--model", test_model(),
                                            "--metrics-port", "0", "--request-shards", "2"},
                                   .unset_env = {"MODEL", "MODEL_BACKEND", "REDIS_URL", "METRICS_PORT", "REQUEST_SHARDS"},
                                   .log_path = dir.path() / "mismatched-worker.log", .working_dir = dir.path()},
                                  60s);
  EXPECT_EQ(worker.status, 2) << worker.log;
  EXPECT_NE(worker.log.find("--request-shards: this process splits the request queue into 2 stream(s), but "
                            "parley:request_shards in Redis says 3"),
            std::string::npos)
      << worker.log;
  // A gateway the same.
  const auto other = run_to_exit({.argv = {gateway_binary(), "--host", "127.0.0.1", "--port", std::to_string(free_port()),
                                           "--metrics-port", "0", "--redis-url", redis.url(), "--request-shards", "1"},
                                  .unset_env = {"REDIS_URL", "PORT", "REQUEST_SHARDS"},
                                  .log_path = dir.path() / "mismatched-gateway.log", .working_dir = dir.path()},
                                 30s);
  EXPECT_EQ(other.status, 2) << other.log;
  EXPECT_NE(other.log.find("into 1 stream(s), but parley:request_shards in Redis says 3"), std::string::npos) << other.log;
  // The first gateway is still serving.
  EXPECT_FALSE(new_session().empty());
}

INSTANTIATE_TEST_SUITE_P(redis, worker_e2e, both_redis_kinds, redis_kind_name);

// The worker's own CPU time (user + system), from /proc.
double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // Fields 14 and 15 of stat(5), counted from the state (field 3) here.
  return (std::stod(f.at(11)) + std::stod(f.at(12))) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

TEST(worker_full, readers_waiting_for_a_slot_sleep) {
  // Three shards, one slot, taken by a turn whose upstream accepted the connection and never
  // answers: two readers wait for the slot. They must sleep until it frees, not wake each other
  // (they did: each re-armed their shared timer, cancelling the others' waits; bench/cluster
  // found it as a model running at half speed).
  temp_dir dir;
  redis_server redis(dir.path());
  const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(upstream, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(upstream, 16), 0);
  const auto upstream_port = local_port_of(upstream);
  gateway_process gateway(redis.url(), dir.path(), {"--request-shards", "3"});
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--request-shards", "3", "--max-concurrent-turns", "1", "--backend", "openai",
                         "--openai-base-url", "http://127.0.0.1:" + std::to_string(upstream_port),
                         "--openai-max-attempts", "1"});
  const auto token = new_session(gateway.port());
  ws_client ws;
  connect_chat(ws, gateway.port(), token);
  send_message(ws, "Hello");
  const keys::request_streams streams(3);
  ASSERT_TRUE(wait_until(
      [&] {
        const auto pending = redis.command({"XPENDING", streams.stream_of(token), "parley-workers"});
        return !pending.elements.empty() && pending.elements[0].integer == 1;
      },
      20s))
      << worker.log_text();
  // While the slot is taken no reader reads: all three wait for it. The upkeep still runs, one
  // script per shard every --claim-interval (200 ms); over ten of them (two seconds) a waiting
  // reader has no reason to run at all.
  const auto upkeep_runs = [&] {
    const auto stats = redis.command_str({"INFO", "commandstats"});
    const std::string name = "cmdstat_xinfo|groups:calls=";
    const auto at = stats.find(name);
    return at == std::string::npos ? 0L : std::stol(stats.substr(at + name.size()));
  };
  const long runs_before = upkeep_runs();
  const double cpu_before = cpu_seconds(worker.proc().pid());
  ASSERT_TRUE(wait_until([&] { return upkeep_runs() >= runs_before + 30; }, 20s));
  const double spent = cpu_seconds(worker.proc().pid()) - cpu_before;
  EXPECT_LT(spent, 0.3) << "the worker used " << spent << " s of CPU while it waited";
  ::close(upstream);
}

}  // namespace
}  // namespace parley::test
