#include <parley/keys.hpp>

#include "redis/routing.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace parley::keys {
namespace {

TEST(RequestStreams, OneShardKeepsTheNameFromBeforeShards) {
  const request_streams one(1);
  ASSERT_EQ(one.size(), 1);
  EXPECT_EQ(one.stream(0), "parley:requests");
  EXPECT_EQ(one.shard_of("anything"), 0);
}

TEST(RequestStreams, EachShardLiesInItsShareOfTheSlotRange) {
  for (int n : {2, 3, 4, 6, 16, max_request_shards}) {
    const request_streams streams(n);
    std::set<std::string> names;
    for (int i = 0; i < n; ++i) {
      const auto& name = streams.stream(i);
      EXPECT_TRUE(name.starts_with("parley:requests:{")) << name;
      names.insert(name);
      const auto slot = redis::detail::key_slot(name);
      EXPECT_GE(slot * n / 16384, i) << name;
      EXPECT_LT(slot * n / 16384, i + 1) << name;
    }
    EXPECT_EQ(names.size(), static_cast<std::size_t>(n));
  }
}

TEST(RequestStreams, TheNamesAreTheSameInEveryProcess) {
  // Gateways and workers compute them independently: they must not depend on anything but n.
  const request_streams streams(3);
  EXPECT_EQ(streams.stream(0), request_streams(3).stream(0));
  EXPECT_EQ(redis::detail::key_slot(streams.stream(0)) * 3 / 16384, 0);
}

TEST(RequestStreams, ASessionHasOneShardNextToItsKeys) {
  const request_streams streams(3);
  std::set<int> seen;
  for (int i = 0; i < 300; ++i) {
    const std::string token = "tok" + std::to_string(i);
    const int s = streams.shard_of(token);
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 3);
    EXPECT_EQ(s, streams.shard_of(token));
    // The same third of the slot range as the session's own keys: on an evenly split cluster,
    // the same master.
    EXPECT_EQ(s, static_cast<int>(redis::detail::key_slot(history(token)) * 3 / 16384));
    EXPECT_EQ(streams.stream_of(token), streams.stream(s));
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(RequestStreams, RefusesCountsOutsideItsRange) {
  EXPECT_THROW(request_streams(0), std::out_of_range);
  EXPECT_THROW(request_streams(max_request_shards + 1), std::out_of_range);
}

}  // namespace
}  // namespace parley::keys
