#include <parley/http/sse.hpp>

#include <parley/http/error.hpp>

#include <gtest/gtest.h>

namespace parley::http {
namespace {

std::vector<sse_event> feed_in_pieces(std::string_view text, std::size_t piece) {
  sse_parser p;
  std::vector<sse_event> out;
  for (std::size_t i = 0; i < text.size(); i += piece) EXPECT_TRUE(p.feed(text.substr(i, piece), out));
  return out;
}

TEST(sse_parser, splits_events_on_blank_lines) {
  auto events = feed_in_pieces("data: one\n\ndata: two\n\n", 1000);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "one");
  EXPECT_EQ(events[0].type, "message");
  EXPECT_EQ(events[1].data, "two");
}

TEST(sse_parser, same_events_for_every_chunking_and_line_ending) {
  const std::string body =
      ": keep-alive\n"
      "event: delta\nid: 7\ndata: {\"a\":1}\n\n"
      "data:no-space\ndata:  two spaces\n\n"
      "retry: 1500\ndata: x\n\n";
  for (std::string ending : {"\n", "\r\n", "\r"}) {
    std::string text;
    for (char c : body) text += c == '\n' ? ending : std::string(1, c);
    for (std::size_t piece = 1; piece <= text.size(); ++piece) {
      auto events = feed_in_pieces(text, piece);
      ASSERT_EQ(events.size(), 3u) << "piece " << piece;
      EXPECT_EQ(events[0].type, "delta");
      EXPECT_EQ(events[0].id, "7");
      EXPECT_EQ(events[0].data, "{\"a\":1}");
      EXPECT_EQ(events[1].data, "no-space\n two spaces");
      EXPECT_EQ(events[1].id, "7") << "the last event id carries over";
      ASSERT_TRUE(events[2].retry);
      EXPECT_EQ(events[2].retry->count(), 1500);
    }
  }
}

TEST(sse_parser, crlf_split_across_chunks_is_one_line_ending) {
  sse_parser p;
  std::vector<sse_event> out;
  ASSERT_TRUE(p.feed("data: a\r", out));
  ASSERT_TRUE(p.feed("\ndata: b\r", out));
  ASSERT_TRUE(p.feed("\n\r", out));
  ASSERT_TRUE(p.feed("\n", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "a\nb");
}

TEST(sse_parser, utf8_split_inside_a_character_is_kept_whole) {
  const std::string text = "data: h\xC3\xA9llo \xE2\x82\xAC\n\n";
  for (std::size_t piece = 1; piece < text.size(); ++piece) {
    auto events = feed_in_pieces(text, piece);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].data, "h\xC3\xA9llo \xE2\x82\xAC");
  }
}

TEST(sse_parser, bom_at_start_is_skipped_even_when_split) {
  auto events = feed_in_pieces("\xEF\xBB\xBF" "data: x\n\n", 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(sse_parser, event_without_data_is_not_dispatched_and_unknown_fields_ignored) {
  auto events = feed_in_pieces("event: ping\n\nfoo: bar\nid\n\ndata\n\n", 3);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "");
  EXPECT_EQ(events[0].type, "message");
}

TEST(sse_parser, incomplete_event_at_end_is_not_dispatched) {
  auto events = feed_in_pieces("data: partial\n", 4);
  EXPECT_TRUE(events.empty());
}

TEST(sse_parser, rejects_overlong_lines_and_stays_failed) {
  sse_parser p(16);
  std::vector<sse_event> out;
  auto r = p.feed("data: 0123456789abcdef", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::sse_line_too_long);
  EXPECT_FALSE(p.feed("\n\n", out));
}

TEST(sse_parser, rejects_overlong_event_made_of_short_lines) {
  sse_parser p(16);
  std::vector<sse_event> out;
  auto r = p.feed("data: 0123\ndata: 4567\ndata: 89ab\ndata: cdef\n", out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::sse_line_too_long);
}

// Found by fuzz_sse_parser: an overlong line that was not data passed when it arrived in one
// chunk and failed when split.
TEST(sse_parser, rejects_an_overlong_line_however_it_arrives) {
  for (std::string_view line : {"event: 0123456789abcdef\n", "id: 0123456789abcdef\n", ": 0123456789abcdef\n"}) {
    sse_parser whole(16);
    std::vector<sse_event> out;
    EXPECT_FALSE(whole.feed(line, out)) << line;
    sse_parser split(16);
    EXPECT_TRUE(split.feed(line.substr(0, 8), out));
    EXPECT_FALSE(split.feed(line.substr(8), out)) << line;
  }
}

}  // namespace
}  // namespace parley::http
