#include <parley/time.hpp>

#include <gtest/gtest.h>

using namespace std::chrono;

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  const auto tp = sys_days{year{2026} / 11 / 26} + hours{22} + minutes{1} + seconds{2} + milliseconds{34};
  EXPECT_EQ(parley::to_iso8601(tp), "2026-11-26T22:01:02.034Z");
}

TEST(Iso8601, RoundTrips) {
  const auto now = time_point_cast<milliseconds>(system_clock::now());
  auto parsed = parley::parse_iso8601(parley::to_iso8601(now));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, now);
}

TEST(Iso8601, ParsesWithoutFraction) {
  auto parsed = parley::parse_iso8601("2020-02-29T00:00:00Z");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, sys_days{year{2020} / 2 / 29});
}

TEST(Iso8601, RejectsMalformed) {
  for (const char* bad : {"", "2020-02-30T00:00:00Z", "2020-01-01 00:00:00Z", "2020-01-01T00:00:00",
                          "2020-01-01T25:00:00Z", "2020-01-01T00:00:00.Z", "2020-01-01T00:00:00Zx"})
    EXPECT_FALSE(parley::parse_iso8601(bad)) << bad;
}
