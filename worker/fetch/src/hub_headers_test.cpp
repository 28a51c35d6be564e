#include "hub_headers.hpp"

#include <gtest/gtest.h>

namespace parley::worker::fetch {
namespace {

TEST(hub_headers, an_etag_holds_a_sha256_or_nothing) {
  const std::string sha(64, 'a');
  EXPECT_EQ(sha256_of_etag("\"" + sha + "\""), sha);
  EXPECT_EQ(sha256_of_etag("W/\"" + std::string(64, 'B') + "\""), std::string(64, 'b'));
  EXPECT_EQ(sha256_of_etag(sha), sha);
  EXPECT_EQ(sha256_of_etag("\"" + std::string(63, 'a') + "\""), "");
  EXPECT_EQ(sha256_of_etag("\"" + std::string(63, 'a') + "g\""), "");
  EXPECT_EQ(sha256_of_etag("\"abc-123\""), "");
}

TEST(hub_headers, content_range_first_byte_and_total) {
  auto r = parse_content_range("bytes 100-199/1000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 100u);
  EXPECT_EQ(r->total, 1000u);
  auto unknown = parse_content_range("bytes 0-9/*");
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->total);
  for (const char* bad : {"", "bytes", "items 0-9/10", "bytes 9/10", "bytes x-9/10", "bytes 0-9", "bytes 5/3-2"})
    EXPECT_FALSE(parse_content_range(bad)) << bad;
}

TEST(hub_headers, parse_u64_takes_the_whole_text_or_nothing) {
  EXPECT_EQ(parse_u64("42"), 42u);
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("42 "));
  EXPECT_FALSE(parse_u64("-1"));
  EXPECT_FALSE(parse_u64("99999999999999999999999"));
}

}  // namespace
}  // namespace parley::worker::fetch
