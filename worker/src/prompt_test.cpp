#include <parley/worker/errors.hpp>
#include <parley/worker/prompt.hpp>

#include <gtest/gtest.h>

namespace parley::worker {
namespace {

std::string human(long long seq, const std::string& text) {
  return R"({"id":"h)" + std::to_string(seq) + R"(","source":"human","msg":")" + text +
         R"(","timestamp":"t","seq":)" + std::to_string(seq) + "}";
}
std::string bot(long long seq, const std::string& text, const std::string& extra = "") {
  return R"({"id":"b)" + std::to_string(seq) + R"(","source":"bot","msg":")" + text +
         R"(","timestamp":"t","reply_to":"h)" + std::to_string(seq) + R"(","seq":)" + std::to_string(seq) + extra +
         "}";
}

TEST(build_turn, pairs_a_burst_by_seq_and_leaves_later_messages_out) {
  // Chronological order after a burst of three: h1 h2 h3 b1.
  std::vector<std::string> history{human(1, "a"), human(2, "b"), human(3, "c"), bot(1, "ra")};
  auto t = build_turn(history, 2);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->message_id, "h2");
  ASSERT_EQ(t->history.size(), 3u);
  EXPECT_EQ(t->history[0].text, "a");
  EXPECT_EQ(t->history[1].speaker, chat_turn::role::assistant);
  EXPECT_EQ(t->history[1].text, "ra");
  EXPECT_EQ(t->history[2].text, "b");
  EXPECT_EQ(t->history[2].speaker, chat_turn::role::user);
}

TEST(build_turn, keeps_stopped_replies_and_drops_failed_ones) {
  std::vector<std::string> history{human(1, "a"), bot(1, "", R"(,"error":"model_failed")"), human(2, "b"),
                                   bot(2, "part", R"(,"stopped":true)"), human(3, "c")};
  auto t = build_turn(history, 3);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->history.size(), 4u);
  EXPECT_EQ(t->history[0].text, "a");
  EXPECT_EQ(t->history[1].text, "b");
  EXPECT_EQ(t->history[2].text, "part");
  EXPECT_EQ(t->history[3].text, "c");
}

TEST(build_turn, tolerates_fields_it_does_not_use) {
  std::vector<std::string> history{R"({"id":"h1","source":"human","msg":"x","timestamp":"t","seq":1,"client_id":"c"})"};
  EXPECT_TRUE(build_turn(history, 1));
}

TEST(build_turn, reports_a_missing_message) {
  auto t = build_turn({human(1, "a")}, 2);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), make_error_code(errc::message_missing));
}

TEST(build_turn, rejects_entries_of_the_wrong_shape) {
  for (std::string bad : {std::string("not json"), std::string("[]"),
                          std::string(R"({"id":"h1","source":"human","msg":"x","seq":"1"})"),
                          std::string(R"({"id":"h1","source":"robot","msg":"x","seq":1})"),
                          std::string(R"({"id":1,"source":"human","msg":"x","seq":1})"),
                          std::string(R"({"id":"h1","source":"human","seq":1})")}) {
    auto t = build_turn({bad}, 1);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error(), make_error_code(errc::history_corrupt)) << bad;
  }
}

}  // namespace
}  // namespace parley::worker
