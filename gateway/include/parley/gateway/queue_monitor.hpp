#pragma once
// Samples the request-queue depth every `queue_sample_interval` so that accepting a message
// costs no extra Redis round trip; `busy()` compares the last sample with max_queue.
// Thread-safety: the sample is an atomic; start/stop from the owning thread.
#include <parley/gateway/session_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>

namespace parley::gateway {

class queue_monitor {
 public:
  queue_monitor(net::any_io_executor ex, session_store& store, const gateway_config& cfg);
  void start();
  void stop();
  bool busy() const noexcept { return depth_.load(std::memory_order_relaxed) >= static_cast<long long>(max_queue_); }
  long long depth() const noexcept { return depth_.load(std::memory_order_relaxed); }

 private:
  net::awaitable<void> loop();
  net::any_io_executor ex_;
  session_store& store_;
  std::chrono::milliseconds interval_;
  std::size_t max_queue_;
  net::steady_timer timer_;
  std::atomic<long long> depth_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace parley::gateway
