// The delivery protocol end to end inside one process: real redis-server, the real service,
// a scripted backend. Multi-process behaviour (kill -9, the gateway) is in
// tests/integration/worker.
#include "test_support.hpp"

#include <parley/test/process.hpp>
#include <parley/worker/metrics.hpp>

#include <gtest/gtest.h>

#include <map>

namespace parley::worker::testing {
namespace {

constexpr auto deadline = 10s;

class delivery : public ::testing::Test {
 protected:
  test::temp_dir dir;
  test::redis_server redis{dir.path()};
  gateway_stand_in gw{redis};
  scripted_backend model;

  bool wait_done(const std::string& token, long long seq) {
    return test::wait_until([&] { return gw.done_seq(token) >= seq; }, deadline);
  }
  bool wait_event(const std::string& token, const std::string& type) {
    return test::wait_until(
        [&] {
          for (const auto& e : gw.events(token))
            if (e.type() == type) return true;
          return false;
        },
        deadline);
  }
  // The reply text a client assembles from the events of `reply_to`, honouring reply_discard.
  std::string streamed_text(const std::string& token, const std::string& reply_to) {
    std::string text;
    for (const auto& e : gw.events(token)) {
      if (!e.body.contains("reply_to") || e.body.at("reply_to").as_string() != reply_to) continue;
      if (e.type() == "reply_discard") text.clear();
      if (e.type() == "delta") text += e.body.at("text").as_string();
    }
    return text;
  }
  std::vector<boost::json::object> bot_entries(const std::string& token) {
    std::vector<boost::json::object> out;
    for (auto& h : gw.history(token))
      if (h.at("source").as_string() == "bot") out.push_back(h);
    return out;
  }
};

TEST_F(delivery, answers_a_burst_in_order_with_every_earlier_turn) {
  gw.create_session("s1");
  std::vector<std::string> ids;
  for (const char* text : {"one", "two", "three"}) ids.push_back(gw.send("s1", text));
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 3));

  auto bots = bot_entries("s1");
  ASSERT_EQ(bots.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(bots[i].at("reply_to").as_string(), ids[i]);
    EXPECT_EQ(bots[i].at("seq").as_int64(), static_cast<long long>(i + 1));
    EXPECT_EQ(streamed_text("s1", ids[i]), bots[i].at("msg").as_string());
  }
  auto reqs = model.requests();
  ASSERT_EQ(reqs.size(), 3u);
  // Turn k sees h1 b1 ... hk: every earlier turn, nothing later.
  EXPECT_EQ(reqs[0].history.size(), 1u);
  ASSERT_EQ(reqs[2].history.size(), 5u);
  EXPECT_EQ(reqs[2].history[0].text, "one");
  EXPECT_EQ(reqs[2].history[1].text, "reply 1 to one");
  EXPECT_EQ(reqs[2].history[2].text, "two");
  EXPECT_EQ(reqs[2].history[3].text, "reply 2 to two");
  EXPECT_EQ(reqs[2].history[4].text, "three");
  EXPECT_TRUE(test::wait_until([&] { return gw.pending() == 0; }, deadline));
  EXPECT_EQ(redis.command_str({"EXISTS", keys::lease("s1")}), "0");
}

TEST_F(delivery, reply_events_carry_ids_and_end_with_the_stored_reply) {
  gw.create_session("s1");
  const auto id = gw.send("s1", "hello there");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  auto events = gw.events("s1");
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[0].type(), "message");
  EXPECT_EQ(events[1].type(), "reply_start");
  EXPECT_EQ(events.back().type(), "reply_end");
  const auto& end = events.back().body;
  EXPECT_EQ(end.at("reply_to").as_string(), id);
  EXPECT_EQ(end.at("text").as_string(), "reply 1 to hello there");
  // The bot message id is the reply_start event's stream id.
  EXPECT_EQ(end.at("message_id").as_string(), events[1].id);
  EXPECT_EQ(bot_entries("s1").at(0).at("id").as_string(), events[1].id);
}

TEST_F(delivery, reply_end_carries_the_turns_timing_and_metrics_count_its_stages) {
  gw.create_session("s1");
  gw.send("s1", "hello there");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  const auto end = gw.events("s1").back().body;
  ASSERT_EQ(end.at("type").as_string(), "reply_end");
  EXPECT_EQ(end.at("generated_tokens").as_int64(), 5);  // "reply 1 to hello there", a word per piece
  // The marks are in the order a turn passes them.
  long long previous = 0;
  for (const char* mark : {"read_us", "prompt_us", "first_token_us", "last_token_us", "end_us"}) {
    ASSERT_TRUE(end.contains(mark)) << mark;
    const long long us = end.at(mark).as_int64();
    EXPECT_GE(us, previous) << mark;
    previous = us;
  }
  // The scripted backend waits 5 ms before each of its 5 pieces: at least 20 ms from first to last.
  EXPECT_GE(end.at("last_token_us").as_int64() - end.at("first_token_us").as_int64(), 20'000);
  std::string text;
  w.metrics().write(text);
  for (const char* stage : {"prepare", "first_token", "generate", "finish"}) {
    EXPECT_NE(text.find(std::string("parley_worker_turn_stage_seconds_count{stage=\"") + stage + "\"} 1\n"),
              std::string::npos)
        << stage;
  }
}

TEST_F(delivery, sessions_are_answered_concurrently) {
  model.piece_delay = 40ms;
  for (const char* s : {"a", "b", "c"}) {
    gw.create_session(s);
    gw.send(s, "hi");
  }
  running_worker w(fast_config("w1"), redis.url(), model);
  for (const char* s : {"a", "b", "c"}) ASSERT_TRUE(wait_done(s, 1));
  EXPECT_GE(model.max_in_flight(), 2);
}

TEST_F(delivery, takes_over_a_dead_workers_turn_and_discards_its_partial_reply) {
  gw.create_session("s1");
  const auto id = gw.send("s1", "story");
  // A worker read the request, took the lease, started streaming, and died.
  redis.command({"XGROUP", "CREATE", std::string(keys::requests_stream), std::string(keys::workers_group), "0",
                 "MKSTREAM"});
  redis.command({"XREADGROUP", "GROUP", std::string(keys::workers_group), "dead", "COUNT", "1", "STREAMS",
                 std::string(keys::requests_stream), ">"});
  redis.command({"SET", keys::lease("s1"), "dead/00000000", "PX", "300"});
  redis.command({"HSET", keys::attempts("s1"), "1", "1"});
  redis.command({"XADD", keys::events("s1"), "*", "e", R"({"type":"reply_start","reply_to":")" + id + R"("})"});
  redis.command({"XADD", keys::events("s1"), "*", "e", R"({"type":"delta","reply_to":")" + id + R"(","text":"partial"})"});

  running_worker w(fast_config("w2"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  auto events = gw.events("s1");
  std::vector<std::string> types;
  for (const auto& e : events) types.push_back(e.type());
  auto discard = std::find(types.begin(), types.end(), "reply_discard");
  ASSERT_NE(discard, types.end());
  EXPECT_EQ(*(discard + 1), "reply_start");
  EXPECT_EQ(streamed_text("s1", id), "reply 1 to story");
  EXPECT_EQ(bot_entries("s1").size(), 1u);
  EXPECT_TRUE(test::wait_until([&] { return gw.pending() == 0; }, deadline));
  EXPECT_GE(w.metrics().turns(turn_result::completed), 1u);
}

TEST_F(delivery, stop_ends_the_running_reply_and_keeps_the_partial_text) {
  model.hang = true;
  gw.create_session("s1");
  const auto id = gw.send("s1", "tell me everything");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_event("s1", "delta"));
  redis.command({"SET", keys::stop("s1"), id, "EX", "60"});
  redis.command({"PUBLISH", std::string(keys::stop_channel), "s1 " + id});
  ASSERT_TRUE(wait_done("s1", 1));
  auto bot = bot_entries("s1").at(0);
  EXPECT_TRUE(bot.at("stopped").as_bool());
  // The stored partial text is exactly what was streamed, a prefix of the full reply.
  const std::string partial(bot.at("msg").as_string());
  EXPECT_EQ(partial, streamed_text("s1", id));
  EXPECT_EQ(std::string("reply 1 to tell me everything").rfind(partial, 0), 0u) << partial;
  auto end = gw.events("s1").back();
  EXPECT_EQ(end.type(), "reply_end");
  EXPECT_TRUE(end.body.at("stopped").as_bool());
  EXPECT_EQ(redis.command_str({"EXISTS", keys::stop("s1")}), "0");
}

TEST_F(delivery, a_stop_that_came_first_gives_an_empty_stopped_reply) {
  gw.create_session("s1");
  const auto id = gw.send("s1", "never mind");
  redis.command({"SET", keys::stop("s1"), id, "EX", "60"});
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  auto bot = bot_entries("s1").at(0);
  EXPECT_TRUE(bot.at("stopped").as_bool());
  EXPECT_EQ(bot.at("msg").as_string(), "");
  EXPECT_TRUE(model.requests().empty());
}

TEST_F(delivery, a_message_failing_max_attempts_times_is_dead_lettered_with_an_error_event) {
  model.failures_left = 100;
  gw.create_session("s1");
  const auto id = gw.send("s1", "poison");
  auto cfg = fast_config("w1");
  cfg.max_attempts = 2;
  running_worker w(cfg, redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  EXPECT_EQ(model.requests().size(), 2u);
  auto dl = redis.command({"XRANGE", std::string(keys::deadletter_stream), "-", "+"});
  ASSERT_EQ(dl.elements.size(), 1u);
  auto end = gw.events("s1").back();
  EXPECT_EQ(end.type(), "error");
  EXPECT_EQ(end.body.at("code").as_string(), "model_failed");
  EXPECT_EQ(end.body.at("reply_to").as_string(), id);
  auto bot = bot_entries("s1").at(0);
  EXPECT_EQ(bot.at("error").as_string(), "model_failed");
  EXPECT_EQ(w.metrics().turns(turn_result::dead_lettered), 1u);
  EXPECT_TRUE(test::wait_until([&] { return gw.pending() == 0; }, deadline));
}

TEST_F(delivery, a_failed_attempt_is_retried_and_its_deltas_discarded) {
  model.failures_left = 1;
  gw.create_session("s1");
  gw.send("s1", "flaky");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_done("s1", 1));
  EXPECT_EQ(bot_entries("s1").at(0).at("msg").as_string(), "reply 1 to flaky");
  EXPECT_EQ(w.metrics().turns(turn_result::failed_attempt), 1u);
  EXPECT_TRUE(wait_event("s1", "reply_discard"));
}

TEST_F(delivery, a_request_for_a_session_leased_elsewhere_is_left_to_the_holder) {
  gw.create_session("s1");
  redis.command({"SET", keys::lease("s1"), "other/12345678", "PX", "60000"});
  gw.send("s1", "hi");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(test::wait_until([&] { return w.metrics().lease_busy_count() == 1; }, deadline));
  EXPECT_TRUE(test::wait_until([&] { return gw.pending() == 0; }, deadline));
  EXPECT_EQ(gw.done_seq("s1"), 0);
  EXPECT_TRUE(model.requests().empty());
}

TEST_F(delivery, a_malformed_request_goes_to_the_dead_letter_stream) {
  redis.command({"XADD", std::string(keys::requests_stream), "*", "token", "s1", "bogus", "1"});
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(test::wait_until(
      [&] { return redis.command({"XLEN", std::string(keys::deadletter_stream)}).integer == 1; }, deadline));
  EXPECT_TRUE(test::wait_until([&] { return gw.pending() == 0; }, deadline));
}

TEST_F(delivery, shutdown_hands_a_running_turn_to_another_worker) {
  model.hang = true;
  gw.create_session("s1");
  const auto id = gw.send("s1", "long one");
  auto cfg = fast_config("w1");
  cfg.shutdown_grace = 100ms;
  {
    running_worker w(cfg, redis.url(), model);
    ASSERT_TRUE(wait_event("s1", "delta"));
    w.stop();
    EXPECT_EQ(w.metrics().turns(turn_result::handed_back), 1u);
  }
  EXPECT_EQ(redis.command_str({"EXISTS", keys::lease("s1")}), "0");
  EXPECT_EQ(gw.pending(), 0);
  scripted_backend healthy;
  running_worker w2(fast_config("w2"), redis.url(), healthy);
  ASSERT_TRUE(wait_done("s1", 1));
  EXPECT_EQ(streamed_text("s1", id), "reply 1 to long one");
  EXPECT_EQ(bot_entries("s1").size(), 1u);
}

TEST_F(delivery, a_lost_lease_stops_writing_and_the_turn_is_retried_later) {
  model.hang = true;
  gw.create_session("s1");
  const auto id = gw.send("s1", "contested");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_event("s1", "delta"));
  redis.command({"SET", keys::lease("s1"), "intruder/00000000", "PX", "500"});
  ASSERT_TRUE(test::wait_until([&] { return w.metrics().turns(turn_result::lease_lost) == 1; }, deadline));
  model.hang = false;
  // The intruder's lease expires; the entry is claimed again and the reply completes once.
  ASSERT_TRUE(wait_done("s1", 1));
  EXPECT_EQ(bot_entries("s1").size(), 1u);
  EXPECT_EQ(streamed_text("s1", id), "reply 1 to contested");
}

TEST_F(delivery, recovers_when_redis_restarts) {
  gw.create_session("s1");
  running_worker w(fast_config("w1"), redis.url(), model);
  gw.send("s1", "before");
  ASSERT_TRUE(wait_done("s1", 1));
  const auto errors = w.metrics().redis_errors();
  redis.stop();
  ASSERT_TRUE(test::wait_until([&] { return w.metrics().redis_errors() > errors; }, deadline));
  redis.start();
  // Nothing persisted: the session and group are gone with the restart; the worker recreates
  // the group and answers new work.
  gw.create_session("s2");
  gw.send("s2", "after");
  ASSERT_TRUE(wait_done("s2", 1));
}


// XINFO CONSUMERS of the workers' group: name -> pending entries.
std::map<std::string, long long> consumers(const test::redis_server& redis) {
  std::map<std::string, long long> out;
  auto r = redis.command({"XINFO", "CONSUMERS", std::string(keys::requests_stream), std::string(keys::workers_group)});
  for (const auto& c : r.elements) {
    std::string name;
    long long pending = 0;
    for (std::size_t i = 0; i + 1 < c.elements.size(); i += 2) {
      if (c.elements[i].str == "name") name = c.elements[i + 1].str;
      if (c.elements[i].str == "pending") pending = c.elements[i + 1].integer;
    }
    out[name] = pending;
  }
  return out;
}

TEST_F(delivery, the_request_stream_keeps_only_what_is_not_yet_acknowledged) {
  running_worker w(fast_config("w1"), redis.url(), model);
  for (const char* s : {"a", "b", "c", "d", "e", "f"}) {
    gw.create_session(s);
    gw.send(s, "hello");
  }
  for (const char* s : {"a", "b", "c", "d", "e", "f"}) ASSERT_TRUE(wait_done(s, 1));
  // Everything read and acknowledged: at most the last delivered entry stays.
  EXPECT_TRUE(test::wait_until(
      [&] { return std::stoll(redis.command_str({"XLEN", std::string(keys::requests_stream)})) <= 1; }, deadline))
      << redis.command_str({"XLEN", std::string(keys::requests_stream)});
}

TEST_F(delivery, upkeep_never_trims_entries_not_yet_read_or_acknowledged) {
  // A pending entry of a dead consumer and one nobody has read yet both survive the upkeep.
  redis.command({"XGROUP", "CREATE", std::string(keys::requests_stream), std::string(keys::workers_group), "0",
                 "MKSTREAM"});
  gw.create_session("s1");
  gw.send("s1", "first");
  redis.command({"XREADGROUP", "GROUP", std::string(keys::workers_group), "dead", "COUNT", "1", "STREAMS",
                 std::string(keys::requests_stream), ">"});
  redis.command({"SET", keys::lease("s1"), "dead/00000000", "PX", "60000"});
  gw.create_session("s2");
  gw.request("s2", 1, "0-1");  // unread: the session has no message, so it stays unanswered
  redis.command({"XGROUP", "CREATECONSUMER", std::string(keys::requests_stream), std::string(keys::workers_group),
                 "gone"});
  auto cfg = fast_config("w1");
  cfg.consumer_expiry = 1s;
  cfg.claim_min_idle = 60s;  // the dead consumer keeps its entry for the whole test
  running_worker w(cfg, redis.url(), model);
  // An upkeep round after the expiry has run once the consumer owning nothing is gone; the dead
  // consumer, idle as long, still owns its entry and stays.
  EXPECT_TRUE(test::wait_until([&] { return !consumers(redis).contains("gone"); }, deadline));
  EXPECT_EQ(std::stoll(redis.command_str({"XLEN", std::string(keys::requests_stream)})), 2);
  auto c = consumers(redis);
  ASSERT_TRUE(c.contains("dead"));
  EXPECT_EQ(c["dead"], 1);
}

TEST_F(delivery, consumers_of_gone_workers_leave_the_group_once_they_own_nothing) {
  redis.command({"XGROUP", "CREATE", std::string(keys::requests_stream), std::string(keys::workers_group), "0",
                 "MKSTREAM"});
  for (const char* name : {"gone-1", "gone-2"})
    redis.command({"XGROUP", "CREATECONSUMER", std::string(keys::requests_stream), std::string(keys::workers_group),
                   name});
  auto cfg = fast_config("w1");
  cfg.consumer_expiry = 1s;
  running_worker w(cfg, redis.url(), model);
  // Redis 7.0 adds a consumer when it is first served, not while its XREADGROUP waits: an idle
  // worker may be listed or not, and removing it takes nothing from it.
  EXPECT_TRUE(test::wait_until(
      [&] {
        auto c = consumers(redis);
        return !c.contains("gone-1") && !c.contains("gone-2");
      },
      deadline));
  // The live worker keeps answering, and is listed once it has been served.
  gw.create_session("s1");
  gw.send("s1", "still there?");
  ASSERT_TRUE(wait_done("s1", 1));
  EXPECT_TRUE(consumers(redis).contains("w1"));
}

TEST_F(delivery, a_running_turn_keeps_its_entry_under_the_consumer_name_it_was_read_with) {
  model.hang = true;
  gw.create_session("s1");
  const auto id = gw.send("s1", "a long one");
  running_worker w(fast_config("w1"), redis.url(), model);
  ASSERT_TRUE(wait_event("s1", "delta"));
  // A stop key without a published stop: only a heartbeat reads it, after re-claiming the entry.
  redis.command({"SET", keys::stop("s1"), id, "EX", "60"});
  ASSERT_TRUE(wait_done("s1", 1));
  auto c = consumers(redis);
  EXPECT_EQ(c.size(), 1u) << "the group lists a worker under a second name";
  EXPECT_TRUE(c.contains("w1"));
}

}  // namespace
}  // namespace parley::worker::testing
