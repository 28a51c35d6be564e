#pragma once
// One generation request in flight: created by generate(), handed to the scheduler thread, and
// the only state the two share. The scheduler appends reply text and finally the outcome under
// `mutex_`; each change sends a wake-up on the reader's one-slot concurrent channel (a failed
// try_send means a wake-up is already pending, which is enough because the reader always takes
// everything accumulated), so the scheduler never blocks on a slow reader and pieces arriving
// between two wake-ups are coalesced into one delta.
//
// The channel lives in the reader's coroutine frame, not here: the scheduler may hold the job
// after the reader is gone (and its io_context with the channel's service). The reader detaches
// the channel before destroying it, and the scheduler touches it only under `mutex_` while it is
// attached.
#include <parley/worker/backend.hpp>

#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace parley::worker::local {

namespace net = boost::asio;

class job {
 public:
  using wakeup_channel =
      net::experimental::concurrent_channel<void(boost::system::error_code)>;

  explicit job(generation_request request) : request_(std::move(request)) {}

  // Reader: where wake-ups go until detach().
  void attach(wakeup_channel* channel) {
    std::lock_guard lock(mutex_);
    wakeup_ = channel;
  }
  void detach() {
    std::lock_guard lock(mutex_);
    wakeup_ = nullptr;
  }

  // Scheduler thread only, after submission.
  generation_request& request() noexcept { return request_; }
  std::chrono::steady_clock::time_point submitted() const noexcept { return submitted_; }
  void mark_submitted() noexcept { submitted_ = std::chrono::steady_clock::now(); }

  // Any thread.
  void cancel() noexcept { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return cancelled_.load(std::memory_order_relaxed); }

  // Scheduler thread: more reply text.
  void publish(std::string_view text) {
    if (text.empty()) return;
    std::lock_guard lock(mutex_);
    pending_.append(text);
    signal();
  }

  // Scheduler thread: the final outcome; nothing is published after it.
  void complete(boost::system::result<generation_result> outcome) {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
    done_ = true;
    signal();
  }

  // Reader: the text accumulated since the last call, and whether the outcome is set.
  std::pair<std::string, bool> take() {
    std::lock_guard lock(mutex_);
    return {std::exchange(pending_, {}), done_};
  }

  bool done() {
    std::lock_guard lock(mutex_);
    return done_;
  }

  // Reader, once take() reported done.
  boost::system::result<generation_result> outcome() {
    std::lock_guard lock(mutex_);
    return std::move(outcome_);
  }

 private:
  // With mutex_ held.
  void signal() {
    if (wakeup_ != nullptr) wakeup_->try_send(boost::system::error_code{});
  }

  generation_request request_;
  std::chrono::steady_clock::time_point submitted_;
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;
  wakeup_channel* wakeup_ = nullptr;  // guarded by mutex_
  std::string pending_;
  bool done_ = false;
  boost::system::result<generation_result> outcome_;
};

}  // namespace parley::worker::local
