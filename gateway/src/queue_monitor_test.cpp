#include <parley/gateway/queue_monitor.hpp>

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

queue_sample sample(std::uint64_t last_delivered, std::vector<std::uint64_t> waiting, bool capped = false) {
  queue_sample s;
  s.last_delivered = {last_delivered, 0};
  for (auto w : waiting) s.waiting.push_back({w, 0});
  s.capped = capped;
  return s;
}

protocol::stream_id id(std::uint64_t ms) { return {ms, 0}; }

TEST(PlaceIn, BeforeTheFirstSampleEveryEntryWaitsWithNothingKnownAhead) {
  const auto p = place_in({}, 0, id(5), 2.0);
  EXPECT_TRUE(p.waiting);
  EXPECT_EQ(p.ahead, 0);
  EXPECT_FALSE(p.eta);
}

TEST(PlaceIn, OneShardCountsTheEntriesBeforeIt) {
  const std::vector<queue_sample> one{sample(3, {4, 5, 6, 7})};
  EXPECT_FALSE(place_in(one, 0, id(3), 1.0).waiting) << "delivered";
  const auto p = place_in(one, 0, id(6), 2.0);
  EXPECT_TRUE(p.waiting);
  EXPECT_EQ(p.ahead, 2);
  EXPECT_FALSE(p.more);
  ASSERT_TRUE(p.eta);
  EXPECT_EQ(*p.eta, std::chrono::milliseconds(1500));
  EXPECT_FALSE(place_in(one, 0, id(6), -1).eta) << "no rate known";
}

TEST(PlaceIn, EveryShardsOlderEntriesAreAhead) {
  // Workers read every shard at once: what waits longer in another shard goes first.
  const std::vector<queue_sample> three{sample(10, {11, 14}), sample(2, {3, 4, 20}), sample(0, {})};
  const auto p = place_in(three, 0, id(14), 1.0);
  EXPECT_TRUE(p.waiting);
  EXPECT_EQ(p.ahead, 3);  // 11 of its own shard, 3 and 4 of the second
  // Delivered is a question for the entry's own shard only.
  EXPECT_FALSE(place_in(three, 1, id(2), 1.0).waiting);
  EXPECT_TRUE(place_in(three, 2, id(2), 1.0).waiting);
  EXPECT_EQ(place_in(three, 2, id(2), 1.0).ahead, 0);
}

TEST(PlaceIn, ACutSampleOfAnyShardMakesTheCountALowerBound) {
  const std::vector<queue_sample> two{sample(0, {1, 2}), sample(0, {3, 4}, true)};
  const auto p = place_in(two, 0, id(9), 1.0);
  EXPECT_EQ(p.ahead, 4);
  EXPECT_TRUE(p.more);
  EXPECT_FALSE(p.eta) << "no promise from a count that is only a lower bound";
  // An entry before the cut shard's last id was fully counted there.
  EXPECT_FALSE(place_in(two, 0, id(2), 1.0).more);
}

TEST(PlaceIn, AShardOutsideTheSampleIsTreatedAsUnknown) {
  const std::vector<queue_sample> one{sample(3, {4})};
  EXPECT_TRUE(place_in(one, 1, id(1), 1.0).waiting);
  EXPECT_EQ(place_in(one, 1, id(1), 1.0).ahead, 0);
}

}  // namespace
}  // namespace parley::gateway
