#include <parley/gateway/wait_estimate.hpp>

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using namespace std::chrono_literals;
using clock = wait_estimator::clock;

queue_sample sample(std::uint64_t last_delivered, std::vector<std::uint64_t> waiting) {
  queue_sample s;
  s.last_delivered = {last_delivered, 0};
  for (auto w : waiting) s.waiting.push_back({w, 0});
  return s;
}

TEST(WaitEstimator, MeasuresTheRateEntriesAreTaken) {
  wait_estimator e(60s, 3);
  const auto t0 = clock::time_point{};
  e.observe(sample(0, {1, 2, 3, 4, 5, 6}), t0);
  EXPECT_FALSE(e.rate()) << "no entry taken yet";
  e.observe(sample(2, {3, 4, 5, 6, 7}), t0 + 1s);  // 1 and 2 taken
  EXPECT_FALSE(e.rate()) << "two entries are too few to tell";
  e.observe(sample(4, {5, 6, 7}), t0 + 2s);  // 3 and 4 taken
  ASSERT_TRUE(e.rate());
  EXPECT_DOUBLE_EQ(*e.rate(), 2.0);
  EXPECT_EQ(wait_estimator::eta(3, *e.rate()), 2000ms);  // 4 to go at 2 a second
  EXPECT_EQ(wait_estimator::eta(0, *e.rate()), 500ms);
}

TEST(WaitEstimator, ForgetsWhatIsOlderThanTheWindow) {
  wait_estimator e(10s, 3);
  const auto t0 = clock::time_point{};
  e.observe(sample(0, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}), t0);
  e.observe(sample(8, {9, 10}), t0 + 1s);  // a burst: 8 a second
  EXPECT_DOUBLE_EQ(*e.rate(), 8.0);
  // Then nothing moves for a while: the rate falls and, once the burst leaves the window, is unknown.
  for (int i = 2; i <= 12; ++i) e.observe(sample(8, {9, 10}), t0 + std::chrono::seconds(i));
  EXPECT_FALSE(e.rate());
}

TEST(WaitEstimator, EntriesTheSampleNeverSawAreNotCounted) {
  wait_estimator e(60s, 1);
  const auto t0 = clock::time_point{};
  e.observe(sample(5, {}), t0);
  e.observe(sample(9, {}), t0 + 1s);  // 6..9 came and went between samples
  EXPECT_FALSE(e.rate());
}

}  // namespace
}  // namespace parley::gateway

namespace parley::gateway {
namespace {

TEST(WaitEstimator, SumsWhatEveryShardGaveOut) {
  wait_estimator e(std::chrono::seconds(60), 3);
  const auto t0 = wait_estimator::clock::time_point{};
  e.observe(std::vector<queue_sample>{sample(0, {1, 2}), sample(0, {5, 6})}, t0);
  // Each shard's own last-delivered id says what left it: 1 from the first, 5 and 6 from the second.
  e.observe(std::vector<queue_sample>{sample(1, {2}), sample(6, {})}, t0 + std::chrono::seconds(1));
  ASSERT_TRUE(e.rate());
  EXPECT_DOUBLE_EQ(*e.rate(), 3.0);
}

}  // namespace
}  // namespace parley::gateway
