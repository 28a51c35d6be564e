#include <parley/gateway/event_sequencer.hpp>

#include <algorithm>

namespace parley::gateway {

void event_sequencer::live(protocol::stream_id id, frame_ptr json, frames& out) {
  if (holding_ > 0 || accepting_) {
    held_.emplace_back(id, std::move(json));
    return;
  }
  if (replay_failed_) return;
  if (id > last_sent_) {
    out.push_back(std::move(json));
    last_sent_ = id;
  }
}

void event_sequencer::flush(frames& out) {
  if (holding_ > 0 || accepting_ || held_.empty()) return;
  auto held = std::move(held_);
  held_.clear();
  std::stable_sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [id, json] : held) live(id, std::move(json), out);
}

void event_sequencer::end_start(bool replay_follows, frames& out) {
  --holding_;
  // A replay that follows at once keeps holding; flushing first would send live events past
  // the backlog it is about to read.
  if (!replay_follows) flush(out);
}

void event_sequencer::end_accept(frames& out) {
  accepting_ = false;
  flush(out);
}

bool event_sequencer::begin_replay() {
  if (holding_ > 0) {
    replay_again_ = true;
    return false;
  }
  ++holding_;
  replaying_ = true;
  replay_again_ = false;
  return true;
}

event_sequencer::page_step event_sequencer::replay_page(event_page page, frames& out) {
  replay_failed_ = false;
  if (page.resync) {
    out.push_back(std::make_shared<const std::string>(protocol::resync_required_frame()));
    if (auto id = protocol::stream_id::parse(page.last_generated_id)) last_sent_ = *id;
    return page_step::resync;
  }
  for (auto& [id, json] : page.events) {
    auto sid = protocol::stream_id::parse(id);
    if (sid && *sid > last_sent_) {
      out.push_back(std::make_shared<const std::string>(std::move(json)));
      last_sent_ = *sid;
    }
  }
  return page.more ? page_step::next_page : page_step::done;
}

bool event_sequencer::replay_failed() {
  replay_failed_ = true;
  if (retry_scheduled_) return false;
  retry_scheduled_ = true;
  return true;
}

bool event_sequencer::retry_due() {
  retry_scheduled_ = false;
  return replay_failed_;
}

bool event_sequencer::end_pass(frames& out) {
  if (replay_again_) {
    replay_again_ = false;
    return true;
  }
  --holding_;
  replaying_ = false;
  flush(out);
  return false;
}

}  // namespace parley::gateway
