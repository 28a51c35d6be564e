#pragma once
// Samples the request queue and the workers' presence every `queue_sample_interval`, so that
// accepting a message costs no extra Redis round trip: `busy()` compares the last depth with
// max_queue, `workers()` is the number of live workers, and `place()` a request's rank among the
// entries waiting for a worker. However many messages wait, a gateway pays two commands per
// interval and shard for all of this (one script reading at most max_queue ids per shard, one
// ZCOUNT), and checks that it agrees with Redis about REQUEST_SHARDS (request_shards.hpp).
// Thread-safety: the depth and worker count are atomics, the waiting ids a snapshot behind a
// mutex; start/stop from the owning thread.
#include <parley/gateway/session_store.hpp>
#include <parley/gateway/wait_estimate.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <vector>
#include <memory>
#include <mutex>

namespace parley::gateway {

struct queue_place {
  bool waiting = false;  // not yet delivered to a worker
  long long ahead = 0;   // waiting entries before it (at least this many when `more`)
  bool more = false;     // a shard's sample was cut at max_queue before reaching it
  // Expected wait, when the rate workers take entries at is known (wait_estimator).
  std::optional<std::chrono::milliseconds> eta;
};

// Pure: where the entry `request` of shard `shard` stands among `shards` (one sample per shard,
// empty: none taken yet), with workers taking `rate` entries per second (<= 0: unknown). It is
// waiting while its own shard has not delivered it; ahead of it are the waiting entries of every
// shard added before it (ids are times, so shards compare), as workers read all shards at once.
// An entry newer than the sample counts as waiting behind everything the sample saw.
queue_place place_in(const std::vector<queue_sample>& shards, int shard, const protocol::stream_id& request,
                     double rate);

class queue_monitor {
 public:
  // `on_config_error` is called (on the monitor's executor) when REQUEST_SHARDS disagrees with
  // the other processes'; the binary exits with status 2.
  queue_monitor(net::any_io_executor ex, session_store& store, const gateway_config& cfg,
                std::function<void(std::string)> on_config_error = {});
  void start();
  void stop();
  bool busy() const noexcept { return depth_.load(std::memory_order_relaxed) >= static_cast<long long>(max_queue_); }
  long long depth() const noexcept { return depth_.load(std::memory_order_relaxed); }
  // Live workers at the last sample; -1 before the first one succeeded.
  long long workers() const noexcept { return workers_.load(std::memory_order_relaxed); }

  // Where the request entry `request` of shard `shard` stands at the last sample (place_in).
  queue_place place(int shard, const protocol::stream_id& request) const;

 private:
  net::awaitable<void> loop();
  net::any_io_executor ex_;
  session_store& store_;
  std::chrono::milliseconds interval_;
  std::size_t max_queue_;
  std::function<void(std::string)> on_config_error_;
  net::steady_timer timer_;
  std::atomic<long long> depth_{0};
  std::atomic<long long> workers_{-1};
  wait_estimator estimator_;          // loop() only
  std::atomic<double> rate_{-1};      // entries taken per second; < 0: not known
  mutable std::mutex sample_mu_;
  std::shared_ptr<const std::vector<queue_sample>> sample_;
  std::atomic<bool> stopped_{false};
};

}  // namespace parley::gateway
