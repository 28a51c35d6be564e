#include <parley/worker/remote/prompt.hpp>
#include <parley/worker/remote/retry.hpp>

#include <gtest/gtest.h>

namespace parley::worker::remote {
namespace {

using role = chat_turn::role;
using namespace std::chrono_literals;

TEST(trim_history, keeps_newest_turns_within_budget_and_always_the_last_user_turn) {
  std::vector<chat_turn> h{{role::user, std::string(40, 'a')},      // 10 + 4
                           {role::assistant, std::string(40, 'b')},  // 10 + 4
                           {role::user, std::string(40, 'c')}};      // 10 + 4
  EXPECT_EQ(trim_history(h, 100).size(), 3u);
  EXPECT_EQ(trim_history(h, 42).size(), 3u);
  auto two = trim_history(h, 41);
  ASSERT_EQ(two.size(), 1u) << "an assistant turn never starts the prompt";
  EXPECT_EQ(two.front().text[0], 'c');
  EXPECT_EQ(trim_history(h, 1).size(), 1u);
  EXPECT_TRUE(trim_history({}, 10).empty());
}

TEST(transcript, is_the_seed_form) {
  std::vector<chat_turn> h{{role::user, "Hi"}, {role::assistant, "Hello"}, {role::user, "Bye"}};
  EXPECT_EQ(transcript("", h), "Human: Hi\nBot: Hello\nHuman: Bye\nBot:");
  EXPECT_EQ(transcript("Be nice.", std::span(h).last(1)), "Be nice.\nHuman: Bye\nBot:");
}

TEST(trim_history, keeps_the_reply_being_continued_and_its_user_turn) {
  std::vector<chat_turn> h{{role::user, std::string(40, 'a')},
                           {role::assistant, std::string(40, 'b')},
                           {role::user, std::string(40, 'c')},
                           {role::assistant, std::string(40, 'd')}};
  auto kept = trim_history(h, 1);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept.front().text[0], 'c');
  EXPECT_EQ(kept.back().text[0], 'd');
  EXPECT_EQ(trim_history(h, 1000).size(), 4u);
}

TEST(transcript, a_reply_being_continued_ends_it_open) {
  std::vector<chat_turn> h{{role::user, "Hi"}, {role::assistant, "Once upon"}};
  EXPECT_EQ(transcript("", h), "Human: Hi\nBot: Once upon");
}

TEST(cut_at_stops, cuts_at_the_earliest_stop_and_trims) {
  std::vector<std::string> stops{"Human:", "###"};
  EXPECT_EQ(cut_at_stops("  fine ### more Human: x", stops), "fine");
  EXPECT_EQ(cut_at_stops("no stop here\n", stops), "no stop here");
  // Continuing a reply: the space before the first word stays.
  EXPECT_EQ(cut_at_stops(" upon a time\nHuman: x", stops, true), " upon a time");
}

TEST(retry, backoff_grows_with_jitter_and_honours_retry_after) {
  retry_policy p;
  p.initial_backoff = 100ms;
  p.max_backoff = 1000ms;
  p.max_retry_after = 5000ms;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    EXPECT_LE(backoff_delay(p, 1, std::nullopt, rng), 100ms);
    EXPECT_LE(backoff_delay(p, 3, std::nullopt, rng), 400ms);
    EXPECT_LE(backoff_delay(p, 20, std::nullopt, rng), 1000ms);
  }
  EXPECT_EQ(backoff_delay(p, 1, 3000ms, rng), 3000ms);
  EXPECT_EQ(backoff_delay(p, 1, 9000ms, rng), 5000ms);
}

TEST(retry, parses_retry_after_seconds_and_dates) {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("120", now), 120'000ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30'000ms);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0ms);
  EXPECT_FALSE(parse_retry_after("soon", now));
  EXPECT_FALSE(parse_retry_after("12abc", now));
  EXPECT_FALSE(parse_retry_after("", now));
}

TEST(retry, statuses) {
  EXPECT_TRUE(retryable_status(429));
  EXPECT_TRUE(retryable_status(503));
  EXPECT_TRUE(retryable_status(408));
  EXPECT_FALSE(retryable_status(400));
  EXPECT_FALSE(retryable_status(401));
  EXPECT_FALSE(retryable_status(404));
}

}  // namespace
}  // namespace parley::worker::remote
