// The cluster client against a real 3-master + 3-replica Redis Cluster (the integration
// harness's shared cluster, one per test binary).
#include "routing.hpp"
#include "test_support.hpp"

#include <parley/keys.hpp>
#include <parley/redis/client.hpp>
#include <parley/redis/subscriber.hpp>
#include <parley/test/redis_cluster.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

namespace parley::redis {
namespace {

using namespace std::chrono_literals;
using testing::run_test;
using testing::wait_connected;
namespace pt = parley::test;

config cluster_cfg(const std::string& url) {
  auto c = parse_url(url).value();
  c.command_timeout = 2s;
  c.reconnect_max = 200ms;
  return c;
}

// A node's id (CLUSTER MYID).
std::string id_of(pt::redis_server& n) { return n.command_str({"CLUSTER", "MYID"}); }

TEST(redis_cluster_client, routes_each_command_to_the_master_of_its_slot) {
  auto& cluster = pt::shared_cluster();
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    c.start();
    co_await wait_connected(c);
    EXPECT_TRUE(c.connected());
    for (int i = 0; i < 30; ++i) {
      auto key = "k" + std::to_string(i);
      auto set = co_await c.exec("SET", key, std::to_string(i));
      CO_ASSERT_OK(set);
      EXPECT_EQ(set->as_string(), "OK") << set->str;
    }
    // Keyless commands go to any node.
    auto ping = co_await c.exec("PING");
    CO_ASSERT_OK(ping);
    EXPECT_EQ(ping->as_string(), "PONG");
    // One session's pipeline, as the stores send it.
    std::vector<command> cmds{{"HSET", keys::session("T"), "name", "Ada"}, {"EXPIRE", keys::session("T"), "60"},
                              {"RPUSH", keys::history("T"), "x"}};
    auto many = co_await c.exec_pipeline(std::move(cmds));
    CO_ASSERT_OK(many);
    EXPECT_EQ(many->at(2).as_integer(), 1);
    c.stop();
  });
  // Each key landed on the master that serves it, nowhere else.
  for (int i = 0; i < 30; ++i) {
    auto key = "k" + std::to_string(i);
    EXPECT_EQ(cluster.master_of(key).command_str({"GET", key}), std::to_string(i));
  }
  long long total = 0;
  for (auto& r : cluster.on_masters({"DBSIZE"})) total += r.integer;
  EXPECT_EQ(total, 32);
}

TEST(redis_cluster_client, refuses_a_pipeline_across_slots_and_sends_nothing) {
  auto& cluster = pt::shared_cluster();
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    c.start();
    co_await wait_connected(c);
    std::vector<command> cmds{{"SET", "a", "1"}, {"SET", "b", "2"}};
    auto r = co_await c.exec_pipeline(std::move(cmds));
    EXPECT_EQ(r ? boost::system::error_code{} : r.error(), errc::cross_slot);
    c.stop();
  });
  EXPECT_EQ(cluster.command_str({"EXISTS", "a"}), "0");
  EXPECT_EQ(cluster.command_str({"EXISTS", "b"}), "0");
}

TEST(redis_cluster_client, a_single_url_of_a_cluster_node_finds_the_cluster) {
  auto& cluster = pt::shared_cluster();
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.node(0).url()));
    c.start();
    co_await wait_connected(c);
    EXPECT_TRUE(c.connected());
    for (int i = 0; i < 20; ++i) {
      auto r = co_await c.exec("SET", "s" + std::to_string(i), "v");
      CO_ASSERT_OK(r);
      EXPECT_EQ(r->as_string(), "OK") << r->str;
    }
    c.stop();
  });
}

TEST(redis_cluster_client, a_database_number_on_a_cluster_node_never_connects) {
  auto& cluster = pt::shared_cluster();
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.node(0).url() + "/3"));
    c.start();
    co_await wait_connected(c);
    EXPECT_FALSE(c.connected());
    auto r = co_await c.exec("PING");
    EXPECT_FALSE(r);
    c.stop();
  });
}

TEST(redis_cluster_client, scripts_load_themselves_on_each_node) {
  auto& cluster = pt::shared_cluster();
  cluster.on_masters({"SCRIPT", "FLUSH"});
  const script incr("return redis.call('INCR', KEYS[1])");
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    c.start();
    co_await wait_connected(c);
    for (int i = 0; i < 12; ++i) {
      std::vector<std::string> keys{"n" + std::to_string(i)};
      auto r = co_await incr.run(c, keys, {});
      CO_ASSERT_OK(r);
      EXPECT_EQ(r->as_integer(), 1) << r->str;
    }
    c.stop();
  });
}

// Moves `slot` from `from` to `to` the way redis-cli --cluster reshard does; `keys` are migrated
// unless `leave_open`, which stops half-way (source MIGRATING, target IMPORTING).
void move_slot(pt::redis_cluster& cluster, long long slot, pt::redis_server& from, pt::redis_server& to,
               const std::vector<std::string>& keys, bool leave_open = false) {
  const auto s = std::to_string(slot);
  ASSERT_EQ(to.command_str({"CLUSTER", "SETSLOT", s, "IMPORTING", id_of(from)}), "OK");
  ASSERT_EQ(from.command_str({"CLUSTER", "SETSLOT", s, "MIGRATING", id_of(to)}), "OK");
  if (leave_open) return;
  for (const auto& k : keys)
    from.command({"MIGRATE", "127.0.0.1", std::to_string(to.port()), k, "0", "5000"});
  for (std::size_t i = 0; i < cluster.size(); ++i)
    cluster.node(i).command({"CLUSTER", "SETSLOT", s, "NODE", id_of(to)});
}

TEST(redis_cluster_client, moved_updates_the_map_and_resends) {
  auto& cluster = pt::shared_cluster();
  const std::string key = "moving";
  const auto slot = detail::key_slot(key);
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    c.start();
    co_await wait_connected(c);
    auto set = co_await c.exec("SET", key, "here");
    CO_ASSERT_OK(set);
    auto& from = cluster.master_of(key);
    auto masters = cluster.masters();
    auto* to = masters.front() == &from ? masters.back() : masters.front();
    move_slot(cluster, slot, from, *to, {key});
    // The client's map still says `from`, which answers MOVED.
    auto get = co_await c.exec("GET", key);
    CO_ASSERT_OK(get);
    EXPECT_EQ(get->as_string(), "here") << get->str;
    EXPECT_EQ(to->command_str({"GET", key}), "here");
    c.stop();
  });
}

TEST(redis_cluster_client, ask_sends_asking_and_the_command_to_the_importing_node) {
  auto& cluster = pt::shared_cluster();
  const std::string key = "asked";
  const auto slot = detail::key_slot(key);
  auto& from = cluster.master_of(key);
  auto masters = cluster.masters();
  auto* to = masters.front() == &from ? masters.back() : masters.front();
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    c.start();
    co_await wait_connected(c);
    move_slot(cluster, slot, from, *to, {}, true);
    // `from` does not hold the key and is migrating the slot: it answers ASK.
    auto set = co_await c.exec("SET", key, "new");
    CO_ASSERT_OK(set);
    EXPECT_EQ(set->as_string(), "OK") << set->str;
    c.stop();
  });
  EXPECT_EQ(to->command_str({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "1");
  EXPECT_EQ(from.command_str({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)}), "0");
  // Finish the migration so the shared cluster is whole again.
  for (std::size_t i = 0; i < cluster.size(); ++i)
    cluster.node(i).command({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", id_of(*to)});
  EXPECT_TRUE(cluster.wait_ok());
  EXPECT_EQ(cluster.command_str({"GET", key}), "new");
}

// Messages a sharded subscriber got, in order, as "channel payload".
struct inbox {
  std::vector<std::string> got;
  int resyncs = 0;
  bool has(const std::string& m) const { return std::find(got.begin(), got.end(), m) != got.end(); }
};

net::awaitable<bool> wait_for(std::function<bool()> pred, std::chrono::milliseconds timeout = 10s) {
  net::steady_timer t(co_await net::this_coro::executor);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) co_return false;
    t.expires_after(10ms);
    co_await t.async_wait(net::use_awaitable);
  }
  co_return true;
}

TEST(redis_cluster_subscriber, sharded_channels_are_subscribed_at_the_master_of_their_slot) {
  auto& cluster = pt::shared_cluster();
  inbox box;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    subscriber sub(ex, cluster_cfg(cluster.url()), c);
    sub.on_message([&](std::string_view ch, std::string_view p) { box.got.push_back(std::string(ch) + " " + std::string(p)); });
    c.start();
    sub.start();
    co_await wait_connected(c);
    std::vector<std::string> channels;
    for (int i = 0; i < 9; ++i) channels.push_back(keys::notify_channel("t" + std::to_string(i)));
    for (auto& ch : channels) sub.subscribe(ch);
    EXPECT_TRUE(co_await wait_for([&] { return sub.connected(); }));
    auto ec = co_await sub.wait_subscribed();
    EXPECT_FALSE(ec) << ec.message();
    for (auto& ch : channels) {
      auto r = co_await c.exec("SPUBLISH", ch, "hi");
      CO_ASSERT_OK(r);
      EXPECT_EQ(r->as_integer(), 1) << ch << " " << r->str;
    }
    EXPECT_TRUE(co_await wait_for([&] { return box.got.size() == channels.size(); }));
    for (auto& ch : channels) EXPECT_TRUE(box.has(ch + " hi")) << ch;
    sub.stop();
    c.stop();
  });
}

TEST(redis_cluster_subscriber, a_channel_whose_slot_moves_is_subscribed_again_at_the_new_owner) {
  auto& cluster = pt::shared_cluster();
  const std::string channel = keys::notify_channel("moves");
  const auto slot = detail::key_slot(channel);
  inbox box;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(cluster.url()));
    subscriber sub(ex, cluster_cfg(cluster.url()), c);
    sub.on_message([&](std::string_view ch, std::string_view p) { box.got.push_back(std::string(ch) + " " + std::string(p)); });
    sub.on_reconnect([&] { ++box.resyncs; });
    c.start();
    sub.start();
    co_await wait_connected(c);
    sub.subscribe(channel);
    EXPECT_TRUE(co_await wait_for([&] { return sub.connected(); }));
    co_await sub.wait_subscribed();
    auto one = co_await c.exec("SPUBLISH", channel, "one");
    CO_ASSERT_OK(one);
    EXPECT_TRUE(co_await wait_for([&] { return box.has(channel + " one"); }));
    // The slot moves to another master: the old owner pushes sunsubscribe.
    auto& from = cluster.master_of(channel);
    auto masters = cluster.masters();
    auto* to = masters.front() == &from ? masters.back() : masters.front();
    const int resyncs_before = box.resyncs;
    move_slot(cluster, slot, from, *to, {});
    EXPECT_TRUE(co_await wait_for([&] { return box.resyncs > resyncs_before; })) << "no re-subscription at the new owner";
    EXPECT_TRUE(co_await wait_for([&] { return to->command({"PUBSUB", "SHARDNUMSUB", channel}).elements.at(1).integer == 1; }));
    auto two = co_await c.exec("SPUBLISH", channel, "two");
    CO_ASSERT_OK(two);
    EXPECT_EQ(two->as_integer(), 1) << two->str;
    EXPECT_TRUE(co_await wait_for([&] { return box.has(channel + " two"); }));
    sub.stop();
    c.stop();
  });
}

TEST(redis_cluster_subscriber, sharded_pub_sub_works_on_a_standalone_server) {
  pt::temp_dir dir;
  pt::redis_server server(dir.path());
  inbox box;
  run_test([&](net::any_io_executor ex) -> net::awaitable<void> {
    client c(ex, cluster_cfg(server.url()));
    subscriber sub(ex, cluster_cfg(server.url()), c);
    sub.on_message([&](std::string_view ch, std::string_view p) { box.got.push_back(std::string(ch) + " " + std::string(p)); });
    c.start();
    sub.start();
    co_await wait_connected(c);
    sub.subscribe("a");
    sub.subscribe("b");
    EXPECT_TRUE(co_await wait_for([&] { return sub.connected(); }));
    co_await sub.wait_subscribed();
    for (auto ch : {"a", "b"}) {
      auto r = co_await c.exec("SPUBLISH", ch, "x");
      CO_ASSERT_OK(r);
    }
    EXPECT_TRUE(co_await wait_for([&] { return box.got.size() == 2; }));
    sub.unsubscribe("a");
    auto gone = co_await wait_for([&]() { return server.command({"PUBSUB", "SHARDNUMSUB", "a"}).elements.at(1).integer == 0; });
    EXPECT_TRUE(gone);
    sub.stop();
    c.stop();
  });
}

}  // namespace
}  // namespace parley::redis
