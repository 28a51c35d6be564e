#include <parley/token.hpp>

#include <gtest/gtest.h>

#include <set>

TEST(Token, IsUuidV4) {
  for (int i = 0; i < 100; ++i) {
    auto t = parley::new_token();
    ASSERT_EQ(t.size(), 36u);
    EXPECT_EQ(t[14], '4');
    EXPECT_TRUE(std::string("89ab").find(t[19]) != std::string::npos);
    EXPECT_TRUE(parley::is_token(t)) << t;
  }
}

TEST(Token, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(parley::new_token()).second);
}

TEST(Token, RejectsNonTokens) {
  for (const char* bad : {"", "abc", "00000000-0000-0000-0000-000000000000",
                          "123e4567-e89b-12d3-a456-426614174000",  // version 1
                          "123e4567-e89b-42d3-c456-426614174000",  // wrong variant
                          "123e4567-e89b-42d3-a456-42661417400g", "123e4567e89b-42d3-a456-4266141740000",
                          "parley:{x}:session-000000000000000000"})
    EXPECT_FALSE(parley::is_token(bad)) << bad;
  EXPECT_TRUE(parley::is_token("123E4567-E89B-42D3-A456-426614174000"));
}
