#pragma once
// The order in which one WebSocket gets its session's events, without the socket: what
// ws_session used to decide inline, now fed inputs and returning the frames to send, so that the
// subtle cases are unit-tested (event_sequencer_test.cpp) the way Boost.Redis tests its state
// machines.
//
// Inputs: live events from pub/sub (any order, duplicates, racing a replay), pages of a replay
// read from the stream, the window between accepting a message and sending its ack, and replay
// failures. Guarantees, for the frames it returns:
// - every event at most once, in increasing id order, and only ids after `last_sent` (the id the
//   client resumed from, or the newest when it gave none);
// - no gap: while a replay runs, or after one failed, live events are held or dropped (they are in
//   the stream, and the next successful replay sends them) instead of being sent past the
//   missing ones;
// - "ack before anything that follows from its message": events arriving while a message is
//   between validation and its ack are held and sent after it;
// - a replay asked for while one runs makes that one run another pass.
// Not thread-safe: one per socket, used on its strand.
#include <parley/gateway/session_store.hpp>
#include <parley/protocol.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace parley::gateway {

class event_sequencer {
 public:
  using frame_ptr = std::shared_ptr<const std::string>;
  using frames = std::vector<frame_ptr>;

  explicit event_sequencer(protocol::stream_id last_sent = {}) : last_sent_(last_sent) {}

  protocol::stream_id last_sent() const noexcept { return last_sent_; }
  // Where a client that named no event starts: the newest event of the snapshot it got.
  void start_after(protocol::stream_id id) noexcept { last_sent_ = id; }

  // A live event: appended to `out` when it is the next one to send, held while a replay or an
  // accept is under way, dropped when already sent or while a failed replay leaves a gap.
  void live(protocol::stream_id id, frame_ptr json, frames& out);

  // The socket's start (subscribe, snapshot) holds live events like a replay does. With
  // `replay_follows`, the caller starts a replay right away (before anything else runs on its
  // strand), and the events stay held until that replay ends.
  void begin_start() noexcept { ++holding_; }
  void end_start(bool replay_follows, frames& out);

  // Between a message's validation and its ack.
  void begin_accept() noexcept { accepting_ = true; }
  void end_accept(frames& out);

  // A replay: begin_replay() is false when one is running already (it then runs once more
  // before it ends). Each page goes through replay_page(); its result says whether to fetch the
  // next one. end_pass() is true when another pass must run (a replay was asked for meanwhile),
  // else the replay is over and the events held meanwhile are in `out`.
  bool begin_replay();
  enum class page_step { next_page, done, resync };
  // resync: the events after last_sent are gone; `out` gets the resync_required frame and
  // last_sent jumps to the stream's newest id.
  page_step replay_page(event_page page, frames& out);
  // A page could not be read: live events are no longer forwarded until a replay succeeds.
  // True when the caller should schedule a retry (none is scheduled yet).
  bool replay_failed();
  // The scheduled retry fired: true when a replay should run (the gap is still there).
  bool retry_due();
  bool end_pass(frames& out);

  bool replaying() const noexcept { return replaying_; }
  bool gap() const noexcept { return replay_failed_; }
  std::size_t held() const noexcept { return held_.size(); }

 private:
  void flush(frames& out);

  protocol::stream_id last_sent_;
  int holding_ = 0;           // start and replay passes under way
  bool replaying_ = false;
  bool replay_again_ = false;
  bool accepting_ = false;
  bool replay_failed_ = false;
  bool retry_scheduled_ = false;
  std::vector<std::pair<protocol::stream_id, frame_ptr>> held_;
};

}  // namespace parley::gateway
