#include "state_store.hpp"

#include <gtest/gtest.h>

namespace parley::worker::local {
namespace {

stored_state state_of(std::size_t bytes, std::size_t tokens = 1) {
  return stored_state{std::vector<std::int32_t>(tokens, 7), std::vector<std::uint8_t>(bytes, 1)};
}

TEST(StateStore, KeepsAndRestoresAStateOnce) {
  state_store store(1000);
  store.put("a", state_of(100, 2));
  EXPECT_EQ(store.counters().bytes.load(), 108);
  EXPECT_EQ(store.counters().entries.load(), 1);
  auto got = store.take("a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes.size(), 100u);
  EXPECT_EQ(got->tokens, (std::vector<std::int32_t>{7, 7}));
  EXPECT_FALSE(store.take("a")) << "a restored state lives in a slot again";
  EXPECT_EQ(store.counters().hits.load(), 1u);
  EXPECT_EQ(store.counters().misses.load(), 1u);
  EXPECT_EQ(store.counters().bytes.load(), 0);
  EXPECT_EQ(store.counters().entries.load(), 0);
}

TEST(StateStore, DropsTheOldestToStayWithinItsBudget) {
  state_store store(300);
  store.put("a", state_of(96));  // 100 bytes each with its token
  store.put("b", state_of(96));
  store.put("c", state_of(96));
  store.put("d", state_of(96));
  EXPECT_EQ(store.counters().bytes.load(), 300);
  EXPECT_EQ(store.counters().dropped.load(), 1u);
  EXPECT_FALSE(store.take("a"));
  EXPECT_TRUE(store.take("b"));
  EXPECT_TRUE(store.take("d"));
}

TEST(StateStore, ReplacingAStateFreesTheOldOne) {
  state_store store(300);
  store.put("a", state_of(196));
  store.put("b", state_of(96));
  store.put("a", state_of(46));
  EXPECT_EQ(store.counters().bytes.load(), 150);
  EXPECT_EQ(store.counters().dropped.load(), 0u);
  EXPECT_EQ(store.take("a")->bytes.size(), 46u);
  store.put("c", state_of(196));
  EXPECT_TRUE(store.take("b")) << "b was stored after a's first state and still fits";
}

TEST(StateStore, AStateLargerThanTheBudgetIsNotKept) {
  state_store store(100);
  store.put("a", state_of(50));
  store.put("b", state_of(200));
  EXPECT_EQ(store.counters().dropped.load(), 1u);
  EXPECT_TRUE(store.take("a")) << "nothing was dropped for a state that cannot fit anyway";
  EXPECT_FALSE(store.take("b"));
}

TEST(StateStore, EraseForgetsWithoutCounting) {
  state_store store(1000);
  EXPECT_TRUE(store.enabled());
  store.put("a", state_of(10));
  store.erase("a");
  store.erase("missing");
  EXPECT_EQ(store.counters().entries.load(), 0);
  EXPECT_EQ(store.counters().hits.load() + store.counters().misses.load(), 0u);
  EXPECT_FALSE(state_store(0).enabled());
}

}  // namespace
}  // namespace parley::worker::local
