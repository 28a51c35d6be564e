#include <parley/request_shards.hpp>

#include <gtest/gtest.h>

namespace parley {
namespace {

TEST(RequestShards, TheFirstProcessAndThoseThatAgreePass) {
  EXPECT_EQ(request_shards_mismatch(std::nullopt, 3), std::nullopt);
  EXPECT_EQ(request_shards_mismatch("3", 3), std::nullopt);
}

TEST(RequestShards, ADifferentCountNamesBothNumbers) {
  const auto m = request_shards_mismatch("1", 3);
  ASSERT_TRUE(m);
  EXPECT_NE(m->find("--request-shards"), std::string::npos) << *m;
  EXPECT_NE(m->find(" 3 stream"), std::string::npos) << *m;
  EXPECT_NE(m->find("says 1"), std::string::npos) << *m;
  // Anything else stored there is not our number either.
  EXPECT_TRUE(request_shards_mismatch("03", 3));
  EXPECT_TRUE(request_shards_mismatch("", 3));
}

}  // namespace
}  // namespace parley
