#include <parley/gateway/connection_limiter.hpp>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using parley::gateway::connection_limiter;

TEST(ConnectionLimiter, CapsPerAddressAndReleases) {
  auto lim = std::make_shared<connection_limiter>(2);
  auto a = lim->try_acquire("1.1.1.1");
  auto b = lim->try_acquire("1.1.1.1");
  auto c = lim->try_acquire("1.1.1.1");
  EXPECT_TRUE(a);
  EXPECT_TRUE(b);
  EXPECT_FALSE(c);
  EXPECT_TRUE(lim->try_acquire("2.2.2.2"));  // released at once: a temporary
  EXPECT_EQ(lim->count("2.2.2.2"), 0u);
  a.reset();
  EXPECT_EQ(lim->count("1.1.1.1"), 1u);
  auto d = lim->try_acquire("1.1.1.1");
  EXPECT_TRUE(d);
  auto moved = std::move(d);
  EXPECT_EQ(lim->count("1.1.1.1"), 2u);
  EXPECT_EQ(lim->total(), 2u);
}

TEST(ConnectionLimiter, ThreadSafe) {
  auto lim = std::make_shared<connection_limiter>(1000000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        auto l = lim->try_acquire("x");
        ASSERT_TRUE(l);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(lim->total(), 0u);
}

TEST(ConnectionLimiter, CapsAllConnectionsTogetherAndSaysWhy) {
  auto lim = std::make_shared<connection_limiter>(2, 3);
  connection_limiter::refusal why = connection_limiter::refusal::total_full;
  auto a = lim->try_acquire("1.1.1.1", &why);
  EXPECT_EQ(why, connection_limiter::refusal::none);
  auto b = lim->try_acquire("1.1.1.1");
  auto over_address = lim->try_acquire("1.1.1.1", &why);
  EXPECT_FALSE(over_address);
  EXPECT_EQ(why, connection_limiter::refusal::address_full);
  auto c = lim->try_acquire("2.2.2.2");
  EXPECT_TRUE(c);
  auto over_total = lim->try_acquire("3.3.3.3", &why);
  EXPECT_FALSE(over_total);
  EXPECT_EQ(why, connection_limiter::refusal::total_full);
  EXPECT_EQ(lim->count("3.3.3.3"), 0u);
  EXPECT_EQ(lim->total(), 3u);
  c.reset();
  EXPECT_TRUE(lim->try_acquire("3.3.3.3", &why));
  EXPECT_EQ(why, connection_limiter::refusal::none);
}
