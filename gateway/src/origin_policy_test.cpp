#include <parley/gateway/origin_policy.hpp>

#include <gtest/gtest.h>

using parley::gateway::origin_policy;

TEST(OriginPolicy, NoOriginAndSameOriginAreAllowed) {
  origin_policy p({}, false);
  EXPECT_TRUE(p.allows("", "chat.example.com"));
  EXPECT_TRUE(p.allows("https://chat.example.com", "chat.example.com"));
  EXPECT_TRUE(p.allows("http://chat.example.com:3500", "chat.example.com:3500"));
  EXPECT_FALSE(p.allows("http://chat.example.com:3501", "chat.example.com:3500"));
  EXPECT_FALSE(p.allows("https://evil.example", "chat.example.com"));
  EXPECT_FALSE(p.allows("null", "chat.example.com"));
}

TEST(OriginPolicy, LocalhostByDefault) {
  origin_policy on({}, true);
  EXPECT_TRUE(on.allows("http://localhost:5173", "127.0.0.1:3500"));
  EXPECT_TRUE(on.allows("http://127.0.0.1:8080", "x"));
  EXPECT_TRUE(on.allows("http://[::1]:8080", "x"));
  EXPECT_FALSE(on.allows("http://localhost.evil.example", "x"));
  origin_policy off({}, false);
  EXPECT_FALSE(off.allows("http://localhost:5173", "127.0.0.1:3500"));
}

TEST(OriginPolicy, ConfiguredListAndWildcard) {
  origin_policy p({"https://app.example.com", "HTTPS://Other.Example/"}, false);
  EXPECT_TRUE(p.allows("https://app.example.com", "api.example.com"));
  EXPECT_TRUE(p.allows("https://other.example", "api.example.com"));
  EXPECT_FALSE(p.allows("http://app.example.com", "api.example.com"));
  origin_policy any({"*"}, false);
  EXPECT_TRUE(any.allows("https://anything.example", "x"));
}
