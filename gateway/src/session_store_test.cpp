// The session store's Lua scripts against a real redis-server: token bucket arithmetic, dedupe,
// expiry, and how a resume detects trimmed or deleted events. Each test runs its coroutine on a
// fresh io_context with a deadline.
#include <parley/gateway/errors.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/test/redis_server.hpp>
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
