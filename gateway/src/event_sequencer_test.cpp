#include <parley/gateway/event_sequencer.hpp>

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using frames = event_sequencer::frames;

protocol::stream_id id(std::uint64_t ms, std::uint64_t seq = 0) { return {ms, seq}; }
event_sequencer::frame_ptr ev(std::uint64_t ms) { return std::make_shared<const std::string>("e" + std::to_string(ms)); }

std::vector<std::string> text(const frames& f) {
  std::vector<std::string> out;
  for (const auto& p : f) out.push_back(*p);
  return out;
}

using list = std::vector<std::string>;

event_page page(std::vector<std::uint64_t> ms, bool more = false) {
  event_page p;
  for (auto m : ms) p.events.emplace_back(id(m).str(), "e" + std::to_string(m));
  p.more = more;
  return p;
}

TEST(EventSequencer, LiveEventsInOrderOnceAndOnlyAfterTheResumePoint) {
  event_sequencer s(id(5));
  frames out;
  s.live(id(3), ev(3), out);  // before the resume point
  s.live(id(6), ev(6), out);
  s.live(id(6), ev(6), out);  // a duplicate
  s.live(id(4), ev(4), out);  // late, already passed
  s.live(id(7), ev(7), out);
  EXPECT_EQ(text(out), (list{"e6", "e7"}));
  EXPECT_EQ(s.last_sent(), id(7));
}

TEST(EventSequencer, EventsDuringStartWaitAndComeOutSorted) {
  event_sequencer s;
  frames out;
  s.begin_start();
  s.live(id(9), ev(9), out);
  s.live(id(8), ev(8), out);
  EXPECT_TRUE(out.empty());
  s.start_after(id(7));
  s.end_start(false, out);
  EXPECT_EQ(text(out), (list{"e8", "e9"}));
}

TEST(EventSequencer, AReplayRacingLiveEventsLeavesNoGapAndNoDouble) {
  event_sequencer s(id(1));
  frames out;
  s.begin_start();
  s.live(id(4), ev(4), out);  // published while the socket starts
  s.end_start(true, out);
  EXPECT_TRUE(out.empty()) << "a resume keeps holding until its replay ends";
  ASSERT_TRUE(s.begin_replay());
  s.live(id(5), ev(5), out);  // published during the replay
  EXPECT_EQ(s.replay_page(page({2, 3}, true), out), event_sequencer::page_step::next_page);
  EXPECT_EQ(s.replay_page(page({4}), out), event_sequencer::page_step::done);
  EXPECT_FALSE(s.end_pass(out));
  EXPECT_EQ(text(out), (list{"e2", "e3", "e4", "e5"}));
  EXPECT_FALSE(s.replaying());
}

TEST(EventSequencer, AReplayAskedForDuringOneRunsAnotherPass) {
  event_sequencer s(id(1));
  frames out;
  ASSERT_TRUE(s.begin_replay());
  EXPECT_FALSE(s.begin_replay());  // resubscribed meanwhile
  s.replay_page(page({2}), out);
  EXPECT_TRUE(s.end_pass(out));
  s.replay_page(page({2, 3}), out);
  EXPECT_FALSE(s.end_pass(out));
  EXPECT_EQ(text(out), (list{"e2", "e3"}));
}

TEST(EventSequencer, AnAckComesBeforeWhatFollowsFromItsMessage) {
  event_sequencer s(id(1));
  frames out;
  s.begin_accept();
  s.live(id(2), ev(2), out);  // the message's own event, published before the ack is queued
  EXPECT_TRUE(out.empty());
  out.push_back(std::make_shared<const std::string>("ack"));
  s.end_accept(out);
  EXPECT_EQ(text(out), (list{"ack", "e2"}));
}

TEST(EventSequencer, AFailedReplayDropsLiveEventsUntilARetrySendsThemFromTheStream) {
  event_sequencer s(id(1));
  frames out;
  ASSERT_TRUE(s.begin_replay());
  EXPECT_TRUE(s.replay_failed());   // schedule a retry
  EXPECT_FALSE(s.replay_failed());  // one at a time
  EXPECT_FALSE(s.end_pass(out));
  EXPECT_TRUE(s.gap());
  s.live(id(3), ev(3), out);  // would skip event 2
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(s.retry_due());
  ASSERT_TRUE(s.begin_replay());
  s.replay_page(page({2, 3}), out);
  EXPECT_FALSE(s.end_pass(out));
  EXPECT_FALSE(s.gap());
  s.live(id(4), ev(4), out);
  EXPECT_EQ(text(out), (list{"e2", "e3", "e4"}));
  EXPECT_FALSE(s.retry_due()) << "no gap left: nothing to retry";
}

TEST(EventSequencer, TrimmedEventsAskTheClientToResync) {
  event_sequencer s(id(1));
  frames out;
  ASSERT_TRUE(s.begin_replay());
  event_page p;
  p.resync = true;
  p.last_generated_id = id(50).str();
  EXPECT_EQ(s.replay_page(p, out), event_sequencer::page_step::resync);
  s.live(id(40), ev(40), out);  // held by the replay, then older than the newest id
  s.live(id(51), ev(51), out);
  EXPECT_FALSE(s.end_pass(out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0]->find("resync_required"), std::string::npos);
  EXPECT_EQ(*out[1], "e51");
  EXPECT_EQ(s.last_sent(), id(51));
}

TEST(EventSequencer, StreamIdsCompareNumericallyNotAsText) {
  event_sequencer s(id(9));
  frames out;
  s.live(id(10), ev(10), out);  // "10-0" < "9-0" as text
  s.live({10, 1}, ev(11), out);
  EXPECT_EQ(out.size(), 2u);
}

}  // namespace
}  // namespace parley::gateway
