// The session store's Lua scripts against a real redis-server: token bucket arithmetic, dedupe,
// expiry, and how a resume detects trimmed or deleted events. Each test runs its coroutine on a
// fresh io_context with a deadline.
#include <parley/gateway/errors.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/test/redis_server.hpp>

#include <boost/json.hpp>
#include <parley/test/temp_dir.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <thread>

namespace gw = parley::gateway;
namespace pt = parley::test;
using namespace std::chrono_literals;

class SessionStore : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.rate_burst = 2;
    cfg_.rate_per_second = 10;
    parley::redis::config rc;
    rc.port = redis_.port();
    client_ = std::make_unique<parley::redis::client>(ioc_.get_executor(), rc);
    client_->start();
    store_ = std::make_unique<gw::session_store>(*client_, cfg_);
  }
  void TearDown() override { client_->stop(); }

  // Runs one coroutine to completion, failing the test after 10 s.
  // The Redis client keeps the io_context busy, so completion stops it explicitly.
  template <class T>
  T run(boost::asio::awaitable<T> aw) {
    std::optional<T> out;
    std::exception_ptr error;
    bool done = false;
    boost::asio::co_spawn(ioc_, std::move(aw), [&](std::exception_ptr e, T v) {
      error = e;
      if (!e) out.emplace(std::move(v));
      done = true;
      ioc_.stop();
    });
    ioc_.restart();
    ioc_.run_for(10s);
    EXPECT_TRUE(done) << "coroutine did not finish in time";
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }
  std::string session() {
    auto s = run(store_->create("Ada"));
    EXPECT_TRUE(s);
    return s->token;
  }
  // Redis may not be connected on the very first command.
  void wait_connected() {
    for (int i = 0; i < 100 && !client_->connected(); ++i) {
      ioc_.restart();
      ioc_.run_for(20ms);
    }
  }

  pt::temp_dir dir_;
  pt::redis_server redis_{dir_.path()};
  gw::gateway_config cfg_;
  boost::asio::io_context ioc_;
  std::unique_ptr<parley::redis::client> client_;
  std::unique_ptr<gw::session_store> store_;
};

TEST_F(SessionStore, CreateAndLoad) {
  wait_connected();
  auto token = session();
  auto s = run(store_->load(token, true));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->name, "Ada");
  EXPECT_EQ(s->last_event_id, "0-0");
  EXPECT_TRUE(s->history.empty());
  auto missing = run(store_->load("123e4567-e89b-42d3-a456-426614174000", false));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), gw::errc::session_not_found);
}

TEST_F(SessionStore, TokenBucketAllowsTheBurstThenRefills) {
  wait_connected();
  auto token = session();
  for (int i = 1; i <= 2; ++i) {
    auto a = run(store_->accept(token, "m", ""));
    ASSERT_TRUE(a);
    EXPECT_EQ(a->type, gw::accept_outcome::kind::accepted);
    EXPECT_EQ(a->seq, i);
  }
  auto limited = run(store_->accept(token, "m", ""));
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->type, gw::accept_outcome::kind::rate_limited);
  // One token refills in 100 ms at 10/s.
  EXPECT_GT(limited->retry_after_ms, 0);
  EXPECT_LE(limited->retry_after_ms, 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(limited->retry_after_ms + 20));
  auto again = run(store_->accept(token, "m", ""));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->type, gw::accept_outcome::kind::accepted);
  EXPECT_EQ(again->seq, 3);
  EXPECT_EQ(redis_.command_str({"LLEN", "parley:{" + token + "}:history"}), "3");
}

TEST_F(SessionStore, DuplicatesAreNotChargedOrStored) {
  wait_connected();
  auto token = session();
  auto first = run(store_->accept(token, "hello", "c1"));
  ASSERT_TRUE(first);
  for (int i = 0; i < 5; ++i) {
    auto dup = run(store_->accept(token, "hello", "c1"));
    ASSERT_TRUE(dup);
    EXPECT_EQ(dup->type, gw::accept_outcome::kind::duplicate);
    EXPECT_EQ(dup->id, first->id);
    EXPECT_TRUE(dup->unanswered);
  }
  redis_.command({"HSET", "parley:{" + token + "}:session", "done_seq", "1"});
  EXPECT_FALSE(run(store_->accept(token, "hello", "c1"))->unanswered);
  // The burst of 2 still has one token: duplicates cost nothing.
  EXPECT_EQ(run(store_->accept(token, "second", "c2"))->type, gw::accept_outcome::kind::accepted);
  EXPECT_EQ(redis_.command_str({"LLEN", "parley:{" + token + "}:history"}), "2");
}

TEST_F(SessionStore, AcceptOnAnExpiredSession) {
  wait_connected();
  auto token = session();
  redis_.command({"DEL", "parley:{" + token + "}:session"});
  auto r = run(store_->accept(token, "late", ""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), gw::errc::session_not_found);
  EXPECT_EQ(redis_.command_str({"EXISTS", "parley:{" + token + "}:history"}), "0");
}

TEST_F(SessionStore, EventsAfterDetectsLostEvents) {
  wait_connected();
  cfg_.rate_burst = 100;
  auto token = session();
  const std::string key = "parley:{" + token + "}:events";
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(run(store_->accept(token, "m" + std::to_string(i), ""))->id);

  auto all = run(store_->events_after(token, "0-0", 100));
  ASSERT_TRUE(all);
  EXPECT_FALSE(all->resync);
  ASSERT_EQ(all->events.size(), 5u);
  EXPECT_EQ(all->events[0].first, ids[0]);
  EXPECT_NE(all->events[0].second.find("\"message_id\""), std::string::npos);

  auto paged = run(store_->events_after(token, ids[1], 2));
  ASSERT_TRUE(paged);
  EXPECT_TRUE(paged->more);
  EXPECT_EQ(paged->events.front().first, ids[2]);

  redis_.command({"XDEL", key, ids[3]});
  EXPECT_TRUE(run(store_->events_after(token, ids[2], 100))->resync);   // a later event was deleted
  EXPECT_FALSE(run(store_->events_after(token, ids[3], 100))->resync);  // it was at or before the id

  redis_.command({"XTRIM", key, "MAXLEN", "1"});
  EXPECT_TRUE(run(store_->events_after(token, "0-0", 100))->resync);     // the head is gone
  EXPECT_FALSE(run(store_->events_after(token, ids[4], 100))->resync);   // still kept
  EXPECT_TRUE(run(store_->events_after(token, "99999999999999-0", 100))->resync);  // from the future
}

TEST_F(SessionStore, QueueDepthCountsPendingAndUndeliveredEntries) {
  wait_connected();
  const std::string stream = "parley:requests";
  auto depth = [&](std::size_t cap) {
    auto d = run(store_->queue_depth(cap));
    EXPECT_TRUE(d);
    return d ? *d : -1;
  };
  EXPECT_EQ(depth(100), 0);  // no stream yet
  for (int i = 0; i < 6; ++i) redis_.command({"XADD", stream, "*", "token", "t", "seq", "1", "id", "0-1"});
  // No group (no worker started yet): every entry waits, up to the cap.
  EXPECT_EQ(depth(100), 6);
  EXPECT_EQ(depth(4), 4);
  redis_.command({"XGROUP", "CREATE", stream, "parley-workers", "0"});
  EXPECT_EQ(depth(100), 6);
  // A worker reads two, acknowledges one: one pending, four undelivered.
  auto read = redis_.command({"XREADGROUP", "GROUP", "parley-workers", "w", "COUNT", "2", "STREAMS", stream, ">"});
  ASSERT_EQ(read.elements.size(), 1u);
  redis_.command({"XACK", stream, "parley-workers", read.elements[0].elements[1].elements[0].elements[0].str});
  EXPECT_EQ(depth(100), 5);
  EXPECT_EQ(depth(2), 3);
}

// After an AOF replay Redis 7.0 can report a `lag` for entries read long ago (entries-read not
// restored); `XGROUP SETID ... ENTRIESREAD 0` puts a group in that state directly.
TEST_F(SessionStore, QueueDepthIgnoresAStaleGroupLag) {
  wait_connected();
  const std::string stream = "parley:requests";
  for (int i = 0; i < 8; ++i) redis_.command({"XADD", stream, "*", "token", "t", "seq", "1", "id", "0-1"});
  redis_.command({"XGROUP", "CREATE", stream, "parley-workers", "$"});
  redis_.command({"XGROUP", "SETID", stream, "parley-workers", "$", "ENTRIESREAD", "0"});
  auto groups = redis_.command({"XINFO", "GROUPS", stream});
  const auto& g = groups.elements.at(0).elements;
  for (std::size_t i = 0; i + 1 < g.size(); i += 2) {
    if (g[i].str == "lag") {
      ASSERT_EQ(g[i + 1].integer, 8) << "the group is not in the stale state";
    }
  }
  auto d = run(store_->queue_depth(100));
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, 0);
}

// Only a missing stream means "nothing happened yet"; any other refusal (LOADING after a
// restart, a key of the wrong type) is an outage, never "your events are gone".
TEST_F(SessionStore, EventsAfterTreatsARefusalAsAnOutageNotAsLostEvents) {
  wait_connected();
  auto token = session();
  redis_.command({"SET", "parley:{" + token + "}:events", "not a stream"});
  auto page = run(store_->events_after(token, "1700000000000-0", 10));
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error(), gw::errc::unavailable);
}

namespace {
boost::json::object entry_at(pt::redis_server& redis, const std::string& token, int index) {
  return boost::json::parse(redis.command_str({"LINDEX", "parley:{" + token + "}:history", std::to_string(index)}))
      .as_object();
}
}  // namespace

TEST_F(SessionStore, AMessageFollowsTheLeafAndInABurstTheTurnStillToCome) {
  wait_connected();
  auto token = session();
  auto h1 = run(store_->accept(token, "one", ""));
  auto h2 = run(store_->accept(token, "two", ""));
  ASSERT_TRUE(h1 && h2);
  EXPECT_EQ(entry_at(redis_, token, 0).at("parent").as_string(), "");
  const auto second = entry_at(redis_, token, 1);
  EXPECT_EQ(second.at("parent").as_string(), h1->id);
  EXPECT_EQ(second.at("parent_seq").as_int64(), 1);
  EXPECT_EQ(redis_.command_str({"HGET", "parley:{" + token + "}:session", "leaf"}), h2->id);
  EXPECT_EQ(redis_.command_str({"HGET", "parley:{" + token + "}:session", "leaf_turn"}), "2");
}

TEST_F(SessionStore, WithdrawingAMessageOfABurstHandsItsPlaceToTheNext) {
  wait_connected();
  auto token = session();
  auto h1 = run(store_->accept(token, "one", ""));
  auto h2 = run(store_->accept(token, "two", ""));
  ASSERT_TRUE(h1 && h2);
  auto r = run(store_->stop_or_withdraw(token, h1->id, ""));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, gw::stop_outcome::withdrawn);
  ASSERT_EQ(redis_.command_str({"LLEN", "parley:{" + token + "}:history"}), "1");
  const auto left = entry_at(redis_, token, 0);
  EXPECT_EQ(left.at("id").as_string(), h2->id);
  EXPECT_EQ(left.at("parent").as_string(), "");
  EXPECT_FALSE(left.contains("parent_seq"));
  // Withdrawing the newest message too gives the leaf back to what it followed: nothing.
  redis_.command({"HSET", "parley:{" + token + "}:session", "done_seq", "1"});
  ASSERT_EQ(*run(store_->stop_or_withdraw(token, h2->id, "")), gw::stop_outcome::withdrawn);
  EXPECT_EQ(redis_.command_str({"HEXISTS", "parley:{" + token + "}:session", "leaf"}), "0");
}

TEST_F(SessionStore, VersionFramesAreCheckedAgainstTheStoredTree) {
  wait_connected();
  auto token = session();
  auto h1 = run(store_->accept(token, "one", ""));
  ASSERT_TRUE(h1);
  using op = parley::protocol::version_frame::op;
  auto busy = run(store_->request_version(token, {op::edit, h1->id, "uno", "", 0}));
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->type, gw::version_outcome::kind::refused);
  EXPECT_EQ(busy->code, parley::api_errc::reply_in_progress);

  // Answer it as a worker would: a reply entry and done_seq.
  const std::string b1 = "9999999999999-0";
  redis_.command({"RPUSH", "parley:{" + token + "}:history",
                  R"({"id":")" + b1 + R"(","source":"bot","msg":"hi","timestamp":"t","seq":1,"reply_to":")" + h1->id +
                      R"(","finish":"length"})"});
  redis_.command({"HSET", "parley:{" + token + "}:session", "done_seq", "1", "leaf", b1});
  redis_.command({"HDEL", "parley:{" + token + "}:session", "leaf_turn"});

  auto edit = run(store_->request_version(token, {op::edit, h1->id, "uno", "e1", 0}));
  ASSERT_TRUE(edit);
  ASSERT_EQ(edit->type, gw::version_outcome::kind::accepted);
  EXPECT_EQ(edit->seq, 2);
  const auto edited = entry_at(redis_, token, 2);
  EXPECT_EQ(edited.at("msg").as_string(), "uno");
  EXPECT_EQ(edited.at("parent").as_string(), "");
  auto again = run(store_->request_version(token, {op::edit, h1->id, "uno", "e1", 0}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->type, gw::version_outcome::kind::duplicate);
  EXPECT_EQ(again->id, edit->id);
  EXPECT_EQ(redis_.command_str({"LLEN", "parley:{" + token + "}:history"}), "3");

  // Once that turn is answered, a continue records its turn for the worker (a full bucket again:
  // this test is not about the rate limit).
  redis_.command({"HSET", "parley:{" + token + "}:session", "done_seq", "2"});
  redis_.command({"DEL", "parley:{" + token + "}:rate"});
  auto cont = run(store_->request_version(token, {op::continue_reply, b1, "", "", 0}));
  ASSERT_TRUE(cont);
  ASSERT_EQ(cont->type, gw::version_outcome::kind::accepted);
  EXPECT_EQ(cont->id, h1->id);
  EXPECT_EQ(redis_.command_str({"HGET", "parley:{" + token + "}:session", "turn_seq"}), "3");
  const auto record =
      boost::json::parse(redis_.command_str({"HGET", "parley:{" + token + "}:session", "turn"})).as_object();
  EXPECT_EQ(record.at("kind").as_string(), "continue");
  EXPECT_EQ(record.at("from").as_string(), b1);
  EXPECT_EQ(record.at("prev_leaf").as_string(), edit->id);
  EXPECT_EQ(redis_.command_str({"HGET", "parley:{" + token + "}:session", "leaf"}), h1->id);
}
