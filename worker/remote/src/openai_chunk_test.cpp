#include "openai_chunk.hpp"

#include <parley/worker/remote/errors.hpp>

#include <gtest/gtest.h>

namespace parley::worker::remote {
namespace {

TEST(parse_chat_chunk, reads_pieces_finish_and_usage) {
  auto c = parse_chat_chunk(
      R"({"id":"x","system_fingerprint":"fp","choices":[{"index":0,"delta":{"role":"assistant","content":"Once"},"finish_reason":null}]})");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->pieces, std::vector<std::string>{"Once"});
  EXPECT_FALSE(c->finish);
  auto end = parse_chat_chunk(
      R"({"choices":[{"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":8}}})");
  ASSERT_TRUE(end);
  EXPECT_TRUE(end->pieces.empty());
  EXPECT_EQ(end->finish, finish_reason::length);
  EXPECT_EQ(end->prompt_tokens, 12);
  EXPECT_EQ(end->completion_tokens, 4);
  EXPECT_EQ(end->cached_tokens, 8);
  EXPECT_EQ(parse_chat_chunk(R"({"choices":[{"finish_reason":"stop"}]})")->finish, finish_reason::stop);
  EXPECT_TRUE(parse_chat_chunk("[DONE]")->done);
}

TEST(parse_chat_chunk, null_and_empty_content_are_no_pieces) {
  auto c = parse_chat_chunk(R"({"choices":[{"delta":{"content":null}},{"delta":{"content":""}}]})");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->pieces.empty());
}

TEST(parse_chat_chunk, rejects_wrong_types_and_reports_upstream_errors) {
  for (const char* bad : {"not json", "[1]", R"({"choices":{}})", R"({"choices":[1]})", R"({"choices":[{"delta":"x"}]})",
                          R"({"choices":[{"delta":{"content":5}}]})", R"({"choices":[{"finish_reason":1}]})"}) {
    auto c = parse_chat_chunk(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error(), make_error_code(errc::malformed_response)) << bad;
  }
  auto e = parse_chat_chunk(R"({"error":{"message":"overloaded"}})");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error(), make_error_code(errc::upstream_error));
}

}  // namespace
}  // namespace parley::worker::remote
