#include "test_server.hpp"
#include "test_support.hpp"

#include <parley/redis/client.hpp>
#include <parley/redis/subscriber.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <future>

namespace parley::redis {
namespace {

using namespace std::chrono_literals;
using testing::run_test;
using testing::sleep_for;
using testing::wait_connected;

config cfg_for(const testing::redis_server& s) {
  config c;
  c.port = s.port();
  c.command_timeout = 2s;
  c.reconnect_max = 200ms;
  return c;
}

net::awaitable<void> wait_disconnected(client& c) {
  for (int i = 0; i < 200 && c.connected(); ++i) co_await sleep_for(10ms);
}

// Subscribers of `channel` as Redis counts them (PUBSUB NUMSUB); -1 when the command fails.
net::awaitable<long long> subscribers(client& c, const std::string& channel) {
  auto r = co_await c.exec("PUBSUB", "NUMSUB", channel);
  if (!r || !r->is_array() || r->elements.size() != 2) co_return -1;
  co_return r->elements[1].as_integer().value_or(-1);
}

TEST(redis_client, runs_commands_and_pipelines) {
  testing::redis_server server;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cfg_for(server));
    c.start();
    co_await wait_connected(c);
    auto set = co_await c.exec("SET", "k", "v");
    CO_ASSERT_OK(set);
    EXPECT_EQ(set->as_string(), "OK");
    // g++ 12 rejects nested braced lists inside a co_await expression: build them first.
    std::vector<command> cmds{{"INCR", "n"}, {"INCR", "n"}, {"GET", "k"}, {"LPUSH", "k", "x"}};
    auto many = co_await c.exec_pipeline(std::move(cmds));
    CO_ASSERT_OK(many);
    if (many->size() != 4) {
      ADD_FAILURE() << many->size() << " replies to 4 commands";
      co_return;
    }
    EXPECT_EQ(many->at(0).as_integer(), 1);
    EXPECT_EQ(many->at(1).as_integer(), 2);
    EXPECT_EQ(many->at(2).as_string(), "v");
    EXPECT_TRUE(many->at(3).is_error());  // WRONGTYPE is a reply, not a transport error
    c.stop();
  });
}

TEST(redis_client, keeps_order_under_concurrency_from_many_threads) {
  testing::redis_server server;
  net::thread_pool pool(4);
  client c(pool.get_executor(), cfg_for(server));
  c.start();
  std::vector<std::future<long long>> results;
  auto first = net::co_spawn(pool, [&]() -> net::awaitable<void> { co_await wait_connected(c); }, net::use_future);
  first.get();
  for (int i = 0; i < 2000; ++i) {
    results.push_back(net::co_spawn(
        pool,
        [&, i]() -> net::awaitable<long long> {
          auto key = "k" + std::to_string(i);
          std::vector<command> cmds{{"SET", key, std::to_string(i)}, {"GET", key}};
          auto r = co_await c.exec_pipeline(std::move(cmds));
          if (!r) co_return -1;
          co_return r->at(1).as_integer().value_or(-2);
        },
        net::use_future));
  }
  for (int i = 0; i < 2000; ++i) ASSERT_EQ(results[i].get(), i);
  c.stop();
  pool.join();
}

TEST(redis_client, fails_fast_while_down_and_recovers_by_itself) {
  testing::redis_server server;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cfg_for(server));
    c.start();
    co_await wait_connected(c);
    server.stop();
    co_await wait_disconnected(c);
    auto down = co_await c.exec("PING");
    EXPECT_FALSE(down.has_value());
    server.start();
    co_await wait_connected(c);
    auto up = co_await c.exec("PING");
    CO_ASSERT_OK(up);
    EXPECT_EQ(up->as_string(), "PONG");
    c.stop();
  });
}

TEST(redis_client, times_out_and_reconnects) {
  testing::redis_server server;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    auto cfg = cfg_for(server);
    cfg.command_timeout = 200ms;
    client c(ex, cfg);
    c.start();
    co_await wait_connected(c);
    auto blocked = co_await c.exec("BLPOP", "nothing", "5");
    EXPECT_FALSE(blocked.has_value());
    EXPECT_EQ(blocked.error(), make_error_code(errc::timeout));
    co_await wait_connected(c);
    auto after = co_await c.exec("PING");
    EXPECT_TRUE(after.has_value());
    c.stop();
  });
}

TEST(redis_client, scripts_survive_script_flush) {
  testing::redis_server server;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cfg_for(server));
    c.start();
    co_await wait_connected(c);
    script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    const std::vector<std::string> keys{"s"}, five{"5"}, two{"2"}, one{"1"};
    auto a = co_await add.run(c, keys, five);
    CO_ASSERT_OK(a);
    EXPECT_EQ(a->as_integer(), 5);
    auto flushed = co_await c.exec("SCRIPT", "FLUSH");
    CO_ASSERT_OK(flushed);
    auto b = co_await add.run(c, keys, two);
    CO_ASSERT_OK(b);
    EXPECT_EQ(b->as_integer(), 7);
    auto cached = co_await c.exec(add.evalsha(keys, one));
    CO_ASSERT_OK(cached);
    EXPECT_EQ(cached->as_integer(), 8);
    c.stop();
  });
}

TEST(redis_subscriber, delivers_messages_and_resubscribes_after_restart) {
  testing::redis_server server;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client pub(ex, cfg_for(server));
    subscriber sub(ex, cfg_for(server));
    std::vector<std::string> got;
    int reconnects = 0;
    sub.on_message([&](std::string_view ch, std::string_view payload) { got.emplace_back(payload); });
    sub.on_reconnect([&] { ++reconnects; });
    pub.start();
    sub.start();
    sub.subscribe("ch");
    sub.subscribe("ch");  // reference counted
    co_await wait_connected(pub);
    while (co_await sub.wait_subscribed()) co_await sleep_for(10ms);
    co_await pub.exec("PUBLISH", "ch", "one");
    sub.unsubscribe("ch");  // still one reference left
    co_await pub.exec("PUBLISH", "ch", "two");
    // Pub/sub has no replay: let "two" arrive before the server dies.
    for (int i = 0; i < 200 && got.size() < 2; ++i) co_await sleep_for(10ms);
    server.stop();
    server.start();
    for (int i = 0; i < 200 && reconnects == 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(reconnects, 1);
    co_await wait_connected(pub);
    co_await pub.exec("PUBLISH", "ch", "three");
    for (int i = 0; i < 200 && got.size() < 3; ++i) co_await sleep_for(10ms);
    sub.unsubscribe("ch");
    for (int i = 0; i < 200 && co_await subscribers(pub, "ch") != 0; ++i) co_await sleep_for(10ms);
    // Redis counts no subscriber any more: this message reaches nobody, nothing to wait out.
    auto four = co_await pub.exec("PUBLISH", "ch", "four");
    CO_ASSERT_OK(four);
    EXPECT_EQ(four->as_integer(), 0);
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
    pub.stop();
    sub.stop();
  });
}


// A refused handshake is reported with the server's own words, not as "unreachable", and the
// client keeps retrying: once the password is right again, it connects.
TEST(redis_client, a_refused_handshake_is_logged_with_the_servers_message) {
  testing::redis_server server;
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client admin(ex, cfg_for(server));
    admin.start();
    co_await wait_connected(admin);
    auto set = co_await admin.exec("CONFIG", "SET", "requirepass", "right");
    EXPECT_TRUE(set && set->as_string() == "OK");
    auto cfg = cfg_for(server);
    cfg.password = "wrong";
    client c(ex, cfg);
    c.start();
    std::string logged;
    for (int i = 0; i < 200 && logged.find("WRONGPASS") == std::string::npos; ++i) {
      co_await sleep_for(10ms);
      logged.clear();
      for (const auto& line : sink->last_formatted()) logged += line;
    }
    EXPECT_NE(logged.find("refused the handshake: WRONGPASS"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("unreachable"), std::string::npos) << logged;
    EXPECT_FALSE(c.connected());
    auto r = co_await c.exec("PING");
    EXPECT_FALSE(r);
    auto unset = co_await admin.exec("CONFIG", "SET", "requirepass", "wrong");
    EXPECT_TRUE(unset && unset->as_string() == "OK");
    co_await wait_connected(c);
    EXPECT_TRUE(c.connected());
    c.stop();
    admin.stop();
  });
  spdlog::set_default_logger(previous);
}

}  // namespace
}  // namespace parley::redis
