#pragma once
// The gateway's counters for Prometheus (GET /metrics on --metrics-port, docs/configuration.md).
// Each gateway counts only what it saw itself; a scraper sums them over the fleet.
// Thread-safety: every member is a relaxed atomic, updated from any I/O thread.
#include <parley/api_error.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace parley::gateway {

// Live values read at scrape time, from the objects that own them.
struct gateway_gauges {
  std::size_t websockets_open = 0;
  bool redis_connected = false;
  long long request_queue_depth = 0;
  bool busy = false;
  long long workers_alive = -1;  // -1: not sampled yet
};

class gateway_metrics {
 public:
  // One HTTP response written (any status, the 101 of an upgrade included).
  void http_response(unsigned status) noexcept;
  void session_created() noexcept { sessions_created_.fetch_add(1, relaxed); }
  void user_created() noexcept { users_created_.fetch_add(1, relaxed); }
  void websocket_opened() noexcept { websockets_opened_.fetch_add(1, relaxed); }
  void message_accepted(bool duplicate) noexcept {
    (duplicate ? messages_duplicate_ : messages_accepted_).fetch_add(1, relaxed);
  }
  // An error frame sent to a client, by its code.
  void error_frame(api_errc code) noexcept;
  void slow_client_closed() noexcept { slow_clients_closed_.fetch_add(1, relaxed); }

  std::uint64_t errors(api_errc code) const noexcept;
  std::uint64_t accepted() const noexcept { return messages_accepted_.load(relaxed); }

  void write(std::string& out, const gateway_gauges& live) const;

 private:
  static constexpr auto relaxed = std::memory_order_relaxed;
  static constexpr std::size_t max_code = static_cast<std::size_t>(api_errc::internal) + 1;

  std::array<std::atomic<std::uint64_t>, 6> http_by_class_{};  // index = status / 100 (1xx..5xx)
  std::atomic<std::uint64_t> sessions_created_{0};
  std::atomic<std::uint64_t> users_created_{0};
  std::atomic<std::uint64_t> websockets_opened_{0};
  std::atomic<std::uint64_t> messages_accepted_{0};
  std::atomic<std::uint64_t> messages_duplicate_{0};
  std::array<std::atomic<std::uint64_t>, max_code> error_frames_{};
  std::atomic<std::uint64_t> slow_clients_closed_{0};
};

}  // namespace parley::gateway
