#include <parley/worker/read_budget.hpp>

#include <gtest/gtest.h>

namespace parley::worker {
namespace {

TEST(ReadBudget, OneReaderAsksForEveryFreeSlot) {
  // One shard: the same COUNT the worker asked for before shards existed.
  read_budget b(4);
  EXPECT_EQ(b.reserve(1), 4);
  EXPECT_EQ(b.free(), 0);
  b.settle(4, 1);
  EXPECT_EQ(b.busy(), 1);
  EXPECT_EQ(b.free(), 3);
  EXPECT_EQ(b.reserve(1), 3);
}

TEST(ReadBudget, ReadersShareTheFreeSlotsAndNeverExceedThem) {
  read_budget b(4);
  const int first = b.reserve(3);
  const int second = b.reserve(2);
  const int third = b.reserve(1);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  EXPECT_EQ(third, 2);
  EXPECT_EQ(b.free(), 0);
  // Every read comes back full: exactly the capacity runs.
  b.settle(first, first);
  b.settle(second, second);
  b.settle(third, third);
  EXPECT_EQ(b.busy(), 4);
  EXPECT_EQ(b.reserve(3), 0);
}

TEST(ReadBudget, MoreReadersThanSlotsWaitUntilATurnEnds) {
  read_budget b(1);
  EXPECT_EQ(b.reserve(3), 1);
  EXPECT_EQ(b.reserve(2), 0);
  EXPECT_EQ(b.reserve(1), 0);
  b.settle(1, 1);
  EXPECT_EQ(b.reserve(2), 0);
  b.finish();
  EXPECT_EQ(b.reserve(2), 1);
}

TEST(ReadBudget, AnEmptyReadGivesItsPromiseBack) {
  read_budget b(2);
  EXPECT_EQ(b.reserve(1), 2);
  b.settle(2, 0);
  EXPECT_EQ(b.busy(), 0);
  EXPECT_EQ(b.free(), 2);
}

TEST(ReadBudget, TurnsOfEitherKindOfReadCountAgainstTheNext) {
  read_budget b(3);
  const int claim = b.reserve(2);  // one reader claims, the other reads
  const int read = b.reserve(1);
  EXPECT_EQ(claim, 1);
  EXPECT_EQ(read, 2);
  b.settle(claim, 1);
  EXPECT_EQ(b.free(), 0);
  b.settle(read, 1);
  EXPECT_EQ(b.busy(), 2);
  EXPECT_EQ(b.free(), 1);
  b.finish();
  EXPECT_EQ(b.free(), 2);
}

TEST(ReadBudget, AReplyOfMoreThanAskedCountsOnlyWhatWasAsked) {
  // Redis never returns more than COUNT; if it did, the promise is not overdrawn.
  read_budget b(2);
  EXPECT_EQ(b.reserve(1), 2);
  b.settle(2, 5);
  EXPECT_EQ(b.busy(), 2);
  EXPECT_EQ(b.free(), 0);
}

}  // namespace
}  // namespace parley::worker
