#include "routing.hpp"

#include <parley/keys.hpp>

#include <gtest/gtest.h>

namespace parley::redis::detail {
namespace {

value str(std::string s) { return value::make_string(std::move(s)); }
value num(long long i) { return value::make_integer(i); }
value arr(std::vector<value> v) {
  value out;
  out.type = value::kind::array;
  out.elements = std::move(v);
  return out;
}
value err(std::string s) {
  value out;
  out.type = value::kind::error;
  out.str = std::move(s);
  return out;
}

TEST(redis_routing, crc16_matches_the_cluster_specification) {
  // The specification's reference value: CRC16 of "123456789" is 0x31C3.
  EXPECT_EQ(crc16("123456789"), 0x31C3);
  // Slots redis-cli reports (CLUSTER KEYSLOT) for these keys.
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot(""), 0);
}

TEST(redis_routing, hash_tags_follow_the_first_braces) {
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
  // The first '{' and the first '}' after it; an empty tag hashes the whole key.
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % slot_count);
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("no{close"), crc16("no{close") % slot_count);
  // Every key of one session shares its slot, the notify channel included.
  const auto s = key_slot(keys::session("T0k"));
  for (auto k : {keys::history("T0k"), keys::events("T0k"), keys::lease("T0k"), keys::stop("T0k"),
                 keys::notify_channel("T0k")})
    EXPECT_EQ(key_slot(k), s) << k;
}

TEST(redis_routing, key_positions_follow_each_commands_key_spec) {
  using v = std::vector<std::size_t>;
  EXPECT_EQ(key_positions({"GET", "k"}), v{1});
  EXPECT_EQ(key_positions({"XADD", "s", "*", "f", "v"}), v{1});
  EXPECT_EQ(key_positions({"PING"}), v{});
  EXPECT_EQ(key_positions({"ping"}), v{});
  EXPECT_EQ(key_positions({"PUBLISH", "ch", "m"}), v{});
  EXPECT_EQ(key_positions({"WAIT", "1", "100"}), v{});
  EXPECT_EQ(key_positions({"SPUBLISH", "ch", "m"}), v{1});
  EXPECT_EQ(key_positions({"EVALSHA", "abc", "2", "k1", "k2", "a1"}), (v{3, 4}));
  EXPECT_EQ(key_positions({"EVAL", "return 1", "0", "a1"}), v{});
  EXPECT_EQ(key_positions({"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "5", "STREAMS", "s1", "s2", ">",
                           ">"}),
            (v{9, 10}));
  EXPECT_EQ(key_positions({"XINFO", "STREAM", "s"}), v{2});
  EXPECT_EQ(key_positions({"XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"}), v{2});
  EXPECT_EQ(key_positions({"DEL", "a", "b"}), (v{1, 2}));
  EXPECT_EQ(key_positions({"MSET", "a", "1", "b", "2"}), (v{1, 3}));
}

TEST(redis_routing, a_pipeline_goes_to_the_one_slot_of_its_keys) {
  auto none = pipeline_slot({{"PING"}, {"INFO", "cluster"}});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto one = pipeline_slot({{"SET", keys::stop("T"), "m"}, {"PUBLISH", "parley:stop", "T m"},
                            {"EXPIRE", keys::session("T"), "10"}});
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, key_slot("T"));
}

TEST(redis_routing, a_pipeline_spanning_slots_is_refused) {
  // What the worker's heartbeat once sent in one pipeline: a {token} script and an XCLAIM on the
  // request stream.
  auto mixed = pipeline_slot({{"EVALSHA", "sha", "2", keys::lease("T"), keys::stop("T"), "owner", "100"},
                              {"XCLAIM", "parley:requests", "g", "c", "0", "1-1", "JUSTID"}});
  ASSERT_FALSE(mixed);
  EXPECT_EQ(mixed.error(), errc::cross_slot);
  auto in_one_script = pipeline_slot({{"EVALSHA", "sha", "2", "a", "b"}});
  ASSERT_FALSE(in_one_script);
  EXPECT_EQ(in_one_script.error(), errc::cross_slot);
}

value node(std::string id, long long port, std::string role, std::string health = "online",
           std::string endpoint = "127.0.0.1") {
  return arr({str("id"), str(std::move(id)), str("port"), num(port), str("ip"), str("127.0.0.1"), str("endpoint"),
              str(std::move(endpoint)), str("role"), str(std::move(role)), str("replication-offset"), num(42),
              str("health"), str(std::move(health))});
}

TEST(redis_routing, parses_cluster_shards_into_a_slot_map) {
  // The shape Redis 7.0 answers over RESP2, one shard with two slot ranges.
  auto reply = arr({
      arr({str("slots"), arr({num(0), num(5460)}), str("nodes"),
           arr({node("a", 7001, "master"), node("d", 7004, "replica")})}),
      arr({str("slots"), arr({num(5461), num(10922), num(16000), num(16383)}), str("nodes"),
           arr({node("e", 7005, "replica"), node("b", 7002, "master")})}),
      arr({str("slots"), arr({num(10923), num(15999)}), str("nodes"), arr({node("c", 7003, "master")})}),
  });
  auto map = parse_cluster_shards(reply);
  ASSERT_TRUE(map) << map.error().message();
  ASSERT_EQ(map->masters.size(), 3u);
  EXPECT_EQ(map->covered(), slot_count);
  EXPECT_EQ(*map->master_of(0), (node_address{"127.0.0.1", 7001}));
  EXPECT_EQ(*map->master_of(5461), (node_address{"127.0.0.1", 7002}));
  EXPECT_EQ(*map->master_of(16383), (node_address{"127.0.0.1", 7002}));
  EXPECT_EQ(*map->master_of(12000), (node_address{"127.0.0.1", 7003}));
  EXPECT_EQ(map->replicas.size(), 2u);
}

TEST(redis_routing, a_failed_master_serves_nothing_until_a_replica_is_promoted) {
  auto reply = arr({
      arr({str("slots"), arr({num(0), num(16383)}), str("nodes"),
           arr({node("a", 7001, "master", "failed"), node("d", 7004, "replica")})}),
  });
  auto map = parse_cluster_shards(reply);
  ASSERT_TRUE(map);
  EXPECT_EQ(map->covered(), 0u);
  EXPECT_EQ(map->master_of(7), nullptr);
  // The failed master stays known, so the client can keep asking it for the map.
  EXPECT_EQ(map->replicas.size(), 2u);
}

TEST(redis_routing, a_master_of_no_slots_is_not_sent_commands) {
  // Right after redis-cli --cluster create, a replica not yet attached shows as such a master.
  auto reply = arr({arr({str("slots"), arr({num(0), num(16383)}), str("nodes"), arr({node("a", 7001, "master")})}),
                    arr({str("slots"), arr({}), str("nodes"), arr({node("d", 7004, "master")})})});
  auto map = parse_cluster_shards(reply);
  ASSERT_TRUE(map);
  ASSERT_EQ(map->masters.size(), 1u);
  EXPECT_EQ(map->masters.front().port, 7001);
  ASSERT_EQ(map->replicas.size(), 1u);
  EXPECT_EQ(map->replicas.front().port, 7004);
}

TEST(redis_routing, an_unknown_endpoint_falls_back_to_the_ip) {
  auto reply = arr({arr({str("slots"), arr({num(0), num(16383)}), str("nodes"),
                         arr({node("a", 7001, "master", "online", "?")})})});
  auto map = parse_cluster_shards(reply);
  ASSERT_TRUE(map);
  EXPECT_EQ(map->masters.front().host, "127.0.0.1");
}

TEST(redis_routing, a_malformed_cluster_shards_reply_is_a_protocol_error) {
  auto reject = [](value v) {
    auto map = parse_cluster_shards(v);
    EXPECT_FALSE(map);
    if (!map) {
      EXPECT_EQ(map.error(), errc::protocol_error);
    }
  };
  reject(err("ERR This instance has cluster support disabled"));
  reject(arr({arr({str("slots"), arr({num(0)}), str("nodes"), arr({})})}));               // odd range list
  reject(arr({arr({str("slots"), arr({num(5), num(1)}), str("nodes"), arr({})})}));       // backwards range
  reject(arr({arr({str("slots"), arr({num(0), num(16384)}), str("nodes"), arr({})})}));   // past the last slot
  reject(arr({arr({str("nodes"), arr({})})}));                                             // no slots
  reject(arr({arr({str("slots"), arr({}), str("nodes"), arr({arr({str("port"), str("x")})})})}));  // no role
  reject(arr({arr({str("slots"), arr({}), str("nodes"), arr({node("a", 70000, "master")})})}));    // port
}

TEST(redis_routing, classifies_redirects_and_cluster_refusals) {
  EXPECT_EQ(classify(str("OK")), reply_kind::plain);
  EXPECT_EQ(classify(err("ERR wrong number of arguments")), reply_kind::plain);
  EXPECT_EQ(classify(err("MOVED 3999 127.0.0.1:6381")), reply_kind::moved);
  EXPECT_EQ(classify(err("ASK 3999 127.0.0.1:6381")), reply_kind::ask);
  EXPECT_EQ(classify(err("TRYAGAIN Multiple keys request during rehashing of slot")), reply_kind::tryagain);
  EXPECT_EQ(classify(err("CLUSTERDOWN The cluster is down")), reply_kind::clusterdown);
  EXPECT_EQ(classify(err("CLUSTERDOWN Hash slot not served")), reply_kind::clusterdown);
}

TEST(redis_routing, parses_moved_and_ask_targets) {
  auto moved = parse_redirect(err("MOVED 3999 127.0.0.1:6381"));
  ASSERT_TRUE(moved);
  EXPECT_FALSE(moved->ask);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->to, (node_address{"127.0.0.1", 6381}));
  auto ask = parse_redirect(err("ASK 16383 redis-3.internal:7000"));
  ASSERT_TRUE(ask);
  EXPECT_TRUE(ask->ask);
  EXPECT_EQ(ask->to, (node_address{"redis-3.internal", 7000}));
  auto v6 = parse_redirect(err("MOVED 1 [::1]:7000"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->to.host, "::1");
  // An empty host means "the node you asked"; the caller fills it in.
  auto same = parse_redirect(err("MOVED 1 :7000"));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->to.host, "");
  for (auto bad : {"MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0", "ASK 1 h:99999", "ERR x"})
    EXPECT_FALSE(parse_redirect(err(bad))) << bad;
  EXPECT_FALSE(parse_redirect(str("MOVED 1 h:1")));
}

}  // namespace
}  // namespace parley::redis::detail
