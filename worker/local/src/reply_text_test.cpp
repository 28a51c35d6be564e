#include "reply_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::worker::local {
namespace {

// Feeds pieces one by one; returns every delta plus the final flush, in order.
std::vector<std::string> feed(reply_text& r, const std::vector<std::string>& pieces) {
  std::vector<std::string> out;
  for (const auto& p : pieces) out.push_back(r.push(p));
  out.push_back(r.finish());
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

bool valid_utf8(const std::string& s) {
  std::string copy;
  return append_valid_utf8(s, copy) == 0 && copy == s;
}

TEST(reply_text, passes_plain_text_through_and_strips_leading_space) {
  reply_text r;
  EXPECT_EQ(r.push(" Hello"), "Hello");
  EXPECT_EQ(r.push(" world"), " world");
  EXPECT_EQ(r.finish(), "");
}

TEST(reply_text, a_continued_reply_keeps_the_space_before_its_first_word) {
  reply_text r({}, true);
  EXPECT_EQ(r.push(" upon"), " upon");
  EXPECT_EQ(r.push(" a time "), " a time");
  EXPECT_EQ(r.finish(), "");
}

TEST(reply_text, holds_an_incomplete_utf8_sequence_until_it_completes) {
  reply_text r;
  // "é" is C3 A9, "€" is E2 82 AC, "😀" is F0 9F 98 80: split across pieces as byte tokens.
  const auto parts = feed(r, {"caf", "\xC3", "\xA9 ", "\xE2\x82", "\xAC", "\xF0", "\x9F\x98", "\x80!"});
  for (const auto& p : parts) EXPECT_TRUE(valid_utf8(p)) << p;
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(join(parts), "caf\xC3\xA9 \xE2\x82\xAC\xF0\x9F\x98\x80!");
}

TEST(reply_text, replaces_bytes_that_can_never_be_valid) {
  reply_text r;
  const auto parts = feed(r, {"a\xFF", "b\x80", "\xC3(", "\xED\xA0\x80", "z"});
  for (const auto& p : parts) EXPECT_TRUE(valid_utf8(p)) << p;
  EXPECT_EQ(join(parts), "a\uFFFDb\uFFFD\uFFFD(\uFFFD\uFFFD\uFFFDz");
}

TEST(reply_text, an_unfinished_sequence_at_the_end_becomes_a_replacement_character) {
  reply_text r;
  EXPECT_EQ(r.push("ok \xE2\x82"), "ok");
  EXPECT_EQ(r.finish(), " \uFFFD");
}

TEST(reply_text, stops_at_a_stop_string_split_across_pieces) {
  reply_text r({"Human:"});
  const auto parts = feed(r, {" Hi there.", "\nHu", "man", ": next question", " more"});
  EXPECT_EQ(parts[0], "Hi there.");
  EXPECT_EQ(parts[1], "");  // "\nHu" could start "Human:"
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(join(parts), "Hi there.");
  EXPECT_TRUE(r.stopped());
  EXPECT_EQ(r.push("ignored"), "");
}

TEST(reply_text, releases_a_false_stop_prefix) {
  reply_text r({"Human:"});
  EXPECT_EQ(r.push("Hu"), "");  // could be the start of "Human:"
  EXPECT_EQ(r.push("g"), "Hug");
  EXPECT_EQ(r.push(" Hum"), "");
  EXPECT_FALSE(r.stopped());
  EXPECT_EQ(r.finish(), " Hum");
}

TEST(reply_text, no_delta_ever_contains_part_of_a_stop_string) {
  const std::string stop = "<|im_end|>";
  reply_text r({stop});
  std::vector<std::string> pieces{"Sure", "<", "|", "im", "_", "end", "|", ">", "tail"};
  std::string all;
  for (const auto& p : pieces) {
    const auto d = r.push(p);
    EXPECT_EQ(d.find('<'), std::string::npos) << d;
    all += d;
  }
  all += r.finish();
  EXPECT_EQ(all, "Sure");
}

TEST(reply_text, the_earliest_of_several_stop_strings_wins) {
  reply_text r({"User:", "Human:"});
  EXPECT_EQ(r.push("a Human: b User: c"), "a");
  EXPECT_TRUE(r.stopped());
}

TEST(reply_text, trailing_whitespace_waits_for_more_text_and_is_dropped_at_the_end) {
  reply_text r;
  EXPECT_EQ(r.push("line one\n"), "line one");
  EXPECT_EQ(r.push("\nline two"), "\n\nline two");
  EXPECT_EQ(r.push("  \n"), "");
  EXPECT_EQ(r.finish(), "");
}

TEST(reply_text, empty_stop_strings_are_ignored) {
  reply_text r({""});
  EXPECT_EQ(r.push("text"), "text");
  EXPECT_FALSE(r.stopped());
}

}  // namespace
}  // namespace parley::worker::local
