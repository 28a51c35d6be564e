#include "resp.hpp"

#include <gtest/gtest.h>

namespace parley::redis::detail {
namespace {

TEST(resp, encodes_binary_safe_arguments) {
  std::string out;
  encode({"SET", "k", std::string("a\0b\r\n", 5)}, out);
  EXPECT_EQ(out, std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\0b\r\n\r\n", 31));
}

TEST(resp, decodes_replies_fed_one_byte_at_a_time) {
  const std::string bytes = "+OK\r\n:42\r\n$-1\r\n*2\r\n$3\r\nfoo\r\n*1\r\n-ERR bad\r\n";
  reader rd;
  std::vector<value> got;
  for (char c : bytes) {
    rd.feed(std::string_view(&c, 1));
    for (;;) {
      auto r = rd.next();
      ASSERT_TRUE(r.has_value());
      if (!*r) break;
      got.push_back(std::move(**r));
    }
  }
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].type, value::kind::status);
  EXPECT_EQ(got[0].str, "OK");
  EXPECT_EQ(got[1].as_integer(), 42);
  EXPECT_TRUE(got[2].is_nil());
  ASSERT_TRUE(got[3].is_array());
  ASSERT_EQ(got[3].elements.size(), 2u);
  EXPECT_EQ(got[3].elements[0].as_string(), "foo");
  EXPECT_TRUE(got[3].elements[1].elements[0].is_error());
  EXPECT_EQ(got[3].elements[1].elements[0].str, "ERR bad");
}

TEST(resp, rejects_garbage) {
  reader rd;
  rd.feed("?what\r\n");
  auto r = rd.next();
  EXPECT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(errc::protocol_error));
}

// hiredis reserves an array's element table as soon as it reads the count: fuzz_resp_reader's
// "*24442448" took 195 MB and 12 s, and "*1000000000" alone asked for 8 GB.
TEST(resp, rejects_an_array_count_beyond_the_reply_budget) {
  reader rd;
  rd.feed("*1000000000\r\n");
  auto r = rd.next();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error(), make_error_code(errc::protocol_error));
}

TEST(resp, budget_is_per_reply) {
  reader rd;
  std::string many = "*100000\r\n";
  for (int i = 0; i < 100000; ++i) many += ":1\r\n";
  for (int round = 0; round < 50; ++round) {
    rd.feed(many);
    auto r = rd.next();
    ASSERT_TRUE(r.has_value() && *r) << round;
    EXPECT_EQ((*r)->elements.size(), 100000u);
  }
}

TEST(redis_url, rejects_hosts_that_are_not_names_or_addresses) {
  for (auto bad : {"redis://a%2Fb:1", "redis://a%3Ab", "redis://[v1.x]:1", "redis://[::1]5", "redis://h:1x"})
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
  auto v6 = parse_url("redis://[::1]:6380");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->host, "::1");
}

TEST(resp, integer_from_string_is_strict) {
  EXPECT_EQ(value::make_string("17").as_integer(), 17);
  EXPECT_FALSE(value::make_string("17x").as_integer());
  EXPECT_FALSE(value::make_string("").as_integer());
}

TEST(redis_url, parses_every_part) {
  auto c = parse_url("redis://alice:s3cret@db.example:6380/2");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "db.example");
  EXPECT_EQ(c->port, 6380);
  EXPECT_EQ(c->username, "alice");
  EXPECT_EQ(c->password, "s3cret");
  EXPECT_EQ(c->db, 2);
  auto d = parse_url("redis://127.0.0.1");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->port, 6379);
  EXPECT_EQ(d->db, 0);
}

TEST(redis_url, several_hosts_name_cluster_seeds) {
  auto c = parse_url("redis://:pw@10.0.0.1:7001,10.0.0.2:7002,[::1]:7003,seed.internal");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->host, "10.0.0.1");
  EXPECT_EQ(c->port, 7001);
  EXPECT_EQ(c->password, "pw");
  ASSERT_EQ(c->more_seeds.size(), 3u);
  EXPECT_EQ(c->more_seeds[0].host, "10.0.0.2");
  EXPECT_EQ(c->more_seeds[0].port, 7002);
  EXPECT_EQ(c->more_seeds[1].host, "::1");
  EXPECT_EQ(c->more_seeds[2].host, "seed.internal");
  EXPECT_EQ(c->more_seeds[2].port, 6379);
  EXPECT_TRUE(parse_url("redis://a:1,b:2/0").has_value());
  // The last '@' ends the user info, so a password may hold commas.
  auto pw = parse_url("redis://u:p,q@h:1");
  ASSERT_TRUE(pw.has_value());
  EXPECT_EQ(pw->password, "p,q");
  EXPECT_TRUE(pw->more_seeds.empty());
  EXPECT_EQ(parse_url("redis://a:1,b:2/3").error(), errc::db_on_cluster);
  for (auto bad : {"redis://a:1,", "redis://a:1,,b:2", "redis://a:1,b:0", "redis://a:1,b:2@", "redis://a:1,b:2?x=1",
                   "redis://,a:1"})
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
}

TEST(redis_url, rejects_bad_input) {
  for (auto bad : {"http://x:1", "redis://", "redis://h:0", "redis://h:70000", "redis://h:1/x", "redis://h:1?a=b",
                   "nonsense"}) {
    EXPECT_FALSE(parse_url(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace parley::redis::detail
