#include <parley/gateway/request_target.hpp>

#include <gtest/gtest.h>

using parley::gateway::parse_request_target;

TEST(RequestTarget, DecodesPathAndTheParametersTheGatewayReads) {
  auto t = parse_request_target("/chat?token=ab%2Dcd&last_event_id=5-1&name=Ada%20L&token=second&x=1");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/chat");
  EXPECT_EQ(t->token, "ab-cd");
  EXPECT_EQ(t->name, "Ada L");
  EXPECT_EQ(t->last_event_id, "5-1");
  auto p = parse_request_target("/a%20b/c");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->path, "/a b/c");
  EXPECT_FALSE(p->token);
  EXPECT_FALSE(p->name);
  EXPECT_FALSE(p->last_event_id);
  auto empty = parse_request_target("/token?name=");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->name, "");
}

TEST(RequestTarget, RejectsWhatIsNotAnOriginFormTarget) {
  for (auto bad : {"", "chat", "http://host/chat", "/chat?token=%zz", "/a%2", "/chat#frag", "/a b"})
    EXPECT_FALSE(parse_request_target(bad)) << bad;
}
