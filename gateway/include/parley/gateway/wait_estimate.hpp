#pragma once
// How long a waiting message will wait, from what the queue monitor samples anyway (no Redis
// command of its own): the rate at which workers take entries off the request queue, measured
// over the last `window`, and a message's place in it. Pure; fed the samples and their times
// (wait_estimate_test.cpp). Not thread-safe: the queue monitor's loop feeds it; readers get a
// copy of the rate through queue_monitor.
#include <parley/gateway/session_store.hpp>

#include <chrono>
#include <deque>
#include <optional>
#include <vector>

namespace parley::gateway {

class wait_estimator {
 public:
  using clock = std::chrono::steady_clock;
  // An estimate needs at least `min_taken` entries taken within `window`: a rate read off one or
  // two entries would promise more than it knows.
  explicit wait_estimator(std::chrono::milliseconds window = std::chrono::seconds(60), long long min_taken = 3)
      : window_(window), min_taken_(min_taken) {}

  // One sample of the queue, taken at `at`. Entries of the previous sample that are no longer
  // waiting were taken by a worker in between (entries that came and went between two samples
  // are not seen, so the rate errs low, and the estimate long).
  void observe(const queue_sample& s, clock::time_point at) { observe(std::vector<queue_sample>{s}, at); }
  // The same for a queue of several shards: one sample per shard, in shard order.
  void observe(const std::vector<queue_sample>& shards, clock::time_point at);

  // Entries taken per second over the window; nullopt while too few were seen.
  std::optional<double> rate() const;

  // The expected wait of a message with `ahead` messages before it, at `rate` entries per second.
  static std::chrono::milliseconds eta(long long ahead, double rate);

 private:
  std::chrono::milliseconds window_;
  long long min_taken_;
  std::vector<queue_sample> last_;  // empty before the first sample
  struct point {
    clock::time_point at;
    long long taken;  // entries taken since the previous sample
  };
  std::deque<point> points_;
  std::optional<clock::time_point> first_at_;
};

}  // namespace parley::gateway
