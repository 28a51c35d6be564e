#include <parley/conversation_tree.hpp>

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::history {
namespace {

namespace json = boost::json;

// Entries as the accept script and the worker write them.
std::string human(std::string id, long long seq, std::optional<std::string> parent = std::nullopt,
                  long long parent_seq = 0) {
  json::object o{{"id", id}, {"source", "human"}, {"msg", "q " + id}, {"timestamp", "t"}, {"seq", seq}};
  if (parent) o["parent"] = *parent;
  if (parent_seq) o["parent_seq"] = parent_seq;
  return json::serialize(o);
}

std::string bot(std::string id, long long seq, std::string reply_to, std::string extra_key = {}) {
  json::object o{{"id", id}, {"source", "bot"}, {"msg", "a " + id}, {"timestamp", "t"}, {"seq", seq},
                 {"reply_to", reply_to}};
  if (extra_key == "error") o["error"] = "model_failed";
  if (extra_key == "length") o["finish"] = "length";
  return json::serialize(o);
}

std::vector<std::string> ids(const tree& t, const std::vector<std::size_t>& at) {
  std::vector<std::string> out;
  for (auto i : at) out.push_back(t.entries()[i].id);
  return out;
}

using list = std::vector<std::string>;

TEST(ConversationTree, LegacyBurstReadsAsTheListItAlwaysWas) {
  // Written before versions: no parent fields; a burst is h1 h2 h3 b1 b2 b3.
  auto t = tree::parse({human("h1", 1), human("h2", 2), human("h3", 3), bot("b1", 1, "h1"), bot("b2", 2, "h2"),
                        bot("b3", 3, "h3")});
  ASSERT_TRUE(t);
  EXPECT_EQ(ids(*t, t->branch(t->leaf(""))), (list{"h1", "h2", "h3", "b1", "b2", "b3"}));
  EXPECT_EQ(ids(*t, t->prompt_path(*t->find("h3"))), (list{"h1", "b1", "h2", "b2", "h3"}));
  EXPECT_EQ(t->version_of(*t->find("b2")).versions, 1);
}

TEST(ConversationTree, BurstWithParentsFollowsTheReplyOfTheNamedTurn) {
  // h2 was sent while h1 waited: it follows "the reply turn 1 writes to h1".
  auto pending = tree::parse({human("h1", 1, ""), human("h2", 2, "h1", 1)});
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->after(*pending->find("h2")), pending->find("h1"));
  EXPECT_EQ(ids(*pending, pending->branch(pending->find("h2"))), (list{"h1", "h2"}));

  auto t = tree::parse({human("h1", 1, ""), human("h2", 2, "h1", 1), bot("b1", 1, "h1"), bot("b2", 2, "h2")});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->after(*t->find("h2")), t->find("b1"));
  EXPECT_EQ(ids(*t, t->prompt_path(*t->find("h2"))), (list{"h1", "b1", "h2"}));
  EXPECT_EQ(ids(*t, t->branch(t->find("b2"))), (list{"h1", "h2", "b1", "b2"}));
}

TEST(ConversationTree, RegeneratedRepliesAreVersionsAndEachKeepsItsOwnContinuation) {
  // b1 was answered, h2/b2 followed it; then b1 was regenerated as b1v2 (turn 3).
  auto t = tree::parse({human("h1", 1, ""), bot("b1", 1, "h1"), human("h2", 2, "b1"), bot("b2", 2, "h2"),
                        bot("b1v2", 3, "h1")});
  ASSERT_TRUE(t);
  EXPECT_EQ(ids(*t, t->siblings(*t->find("b1"))), (list{"b1", "b1v2"}));
  EXPECT_EQ(t->version_of(*t->find("b1v2")).version, 2);
  EXPECT_EQ(t->version_of(*t->find("b1v2")).versions, 2);
  EXPECT_EQ(ids(*t, t->branch(t->find("b1v2"))), (list{"h1", "b1v2"}));
  // Switching back to version 1 lands at the end of what followed it.
  EXPECT_EQ(t->entries()[t->newest_leaf_below(*t->find("b1"))].id, "b2");
  EXPECT_EQ(t->newest_leaf_below(*t->find("b1v2")), *t->find("b1v2"));
  // The regenerated turn's prompt is the message and what preceded it, not the other reply.
  EXPECT_EQ(ids(*t, t->prompt_path(*t->find("h1"))), (list{"h1"}));
}

TEST(ConversationTree, EditedMessagesAreVersionsOfOneMessage) {
  auto t = tree::parse({human("h1", 1, ""), bot("b1", 1, "h1"), human("h2", 2, "b1"), bot("b2", 2, "h2"),
                        human("h2e", 3, "b1"), bot("b3", 3, "h2e"), human("h1e", 4, ""), bot("b4", 4, "h1e")});
  ASSERT_TRUE(t);
  EXPECT_EQ(ids(*t, t->siblings(*t->find("h2"))), (list{"h2", "h2e"}));
  EXPECT_EQ(ids(*t, t->siblings(*t->find("h1e"))), (list{"h1", "h1e"}));
  EXPECT_EQ(ids(*t, t->prompt_path(*t->find("h2e"))), (list{"h1", "b1", "h2e"}));
  EXPECT_EQ(ids(*t, t->branch(t->leaf(""))), (list{"h1e", "b4"}));
  EXPECT_EQ(ids(*t, t->branch(t->leaf("b2"))), (list{"h1", "b1", "h2", "b2"}));
  EXPECT_EQ(t->entries()[t->newest_leaf_below(*t->find("h1"))].id, "b3");
  const auto p = t->placement_of(*t->find("h2e"));
  EXPECT_EQ(p.parent, "b1");
  EXPECT_EQ(t->placement_of(*t->find("h1")).parent, "");
}

TEST(ConversationTree, EditOfALegacyMessageIsPlacedAfterTheReplyItFollowed) {
  auto t = tree::parse({human("h1", 1), bot("b1", 1, "h1"), human("h2", 2)});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->placement_of(*t->find("h2")).parent, "b1");
  auto burst = tree::parse({human("h1", 1), human("h2", 2)});
  ASSERT_TRUE(burst);
  const auto p = burst->placement_of(*burst->find("h2"));
  EXPECT_EQ(p.parent, "h1");
  EXPECT_EQ(p.parent_seq, 1);
}

TEST(ConversationTree, FailedRepliesStayVersionsButLeaveThePrompt) {
  auto t = tree::parse({human("h1", 1, ""), bot("e1", 1, "h1", "error"), human("h2", 2, "e1"), bot("b2", 2, "h2"),
                        bot("b1", 3, "h1", "length")});
  ASSERT_TRUE(t);
  EXPECT_EQ(ids(*t, t->prompt_path(*t->find("h2"))), (list{"h1", "h2"}));
  EXPECT_TRUE(t->entries()[*t->find("b1")].cut_off);
  EXPECT_TRUE(t->entries()[*t->find("e1")].failed);
  EXPECT_EQ(t->version_of(*t->find("b1")).version, 2);
}

TEST(ConversationTree, RejectsWhatNeitherSideWrites) {
  EXPECT_FALSE(tree::parse({"not json"}));
  EXPECT_FALSE(tree::parse({R"({"id":"a","source":"robot","msg":"","seq":1})"}));
  EXPECT_FALSE(tree::parse({R"({"id":"a","source":"bot","msg":"","seq":1})"}));  // no reply_to
  EXPECT_FALSE(tree::parse({R"({"id":"a","source":"human","msg":"","seq":"1"})"}));
  EXPECT_FALSE(tree::parse({R"({"id":"a","source":"human","msg":"","seq":1,"parent":5})"}));
  EXPECT_FALSE(tree::parse({human("h1", 1), human("h1", 2)}));  // one id twice
  EXPECT_TRUE(tree::parse({R"({"id":"a","source":"human","msg":"","seq":1,"extra":true})"}));
}

TEST(ConversationTree, AMissingParentMakesAFirstMessageNotAnOrphan) {
  auto t = tree::parse({human("h1", 1, ""), human("h2", 2, "gone")});
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->after(*t->find("h2")));
  EXPECT_EQ(ids(*t, t->branch(t->find("h2"))), (list{"h2"}));
  EXPECT_EQ(ids(*t, t->siblings(*t->find("h2"))), (list{"h1", "h2"}));
}

TEST(ConversationTree, EmptyHistoryHasNoLeaf) {
  auto t = tree::parse({});
  ASSERT_TRUE(t);
  EXPECT_FALSE(t->leaf(""));
  EXPECT_FALSE(t->leaf("1-0"));
  EXPECT_TRUE(t->branch(std::nullopt).empty());
}

TEST(ConversationTree, AStoredLeafThatIsGoneFallsBackToTheNewestEntry) {
  auto t = tree::parse({human("h1", 1, ""), bot("b1", 1, "h1")});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->leaf("9-9"), t->find("b1"));
  EXPECT_EQ(t->leaf("h1"), t->find("h1"));
}

}  // namespace
}  // namespace parley::history
