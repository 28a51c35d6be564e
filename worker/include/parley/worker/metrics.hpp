#pragma once
// The worker's own Prometheus metrics. Counters are atomics so that the metrics endpoint may
// read them from any thread while the delivery logic updates them.
#include <parley/prometheus.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley::worker {

enum class turn_result {
  completed,        // reply stored
  stopped,          // the client stopped it; partial reply stored
  failed_attempt,   // the backend failed; retried (or dead-lettered at the limit)
  dead_lettered,    // max_attempts reached; error reply stored and request dead-lettered
  lease_lost,       // another worker took the session over
  handed_back,      // shutdown: left for another worker
  session_gone,     // the session expired before its reply was stored
};
inline constexpr std::size_t turn_result_count = 7;

// The stages of one turn, each from the previous mark (docs/worker.md, "Turn timing"): taken up
// by the worker -> prompt handed to the model (prepare) -> first token (first_token) -> last
// token (generate) -> reply_end written (finish).
enum class turn_stage { prepare, first_token, generate, finish };
inline constexpr std::size_t turn_stage_count = 4;

class worker_metrics {
 public:
  void turn(turn_result r) noexcept { turns_[static_cast<std::size_t>(r)].fetch_add(1, relaxed); }
  void request_read() noexcept { requests_read_.fetch_add(1, relaxed); }
  void request_claimed() noexcept { requests_claimed_.fetch_add(1, relaxed); }
  void lease_busy() noexcept { lease_busy_.fetch_add(1, relaxed); }
  void redis_commands(std::uint64_t n) noexcept { redis_commands_.fetch_add(n, relaxed); }
  void redis_error() noexcept { redis_errors_.fetch_add(1, relaxed); }
  void delta_event(std::uint64_t pieces, std::uint64_t bytes) noexcept {
    delta_events_.fetch_add(1, relaxed);
    delta_pieces_.fetch_add(pieces, relaxed);
    delta_bytes_.fetch_add(bytes, relaxed);
  }
  // Time from the request entry's creation (its stream id) to the start of its first attempt.
  void queue_wait(std::chrono::milliseconds wait) noexcept;
  void stage(turn_stage s, std::chrono::microseconds d) noexcept {
    stages_[static_cast<std::size_t>(s)].observe(static_cast<double>(d.count()) / 1e6);
  }
  void active_sessions(int delta) noexcept { active_.fetch_add(delta, relaxed); }

  std::uint64_t redis_commands() const noexcept { return redis_commands_.load(relaxed); }
  std::uint64_t redis_errors() const noexcept { return redis_errors_.load(relaxed); }
  std::uint64_t lease_busy_count() const noexcept { return lease_busy_.load(relaxed); }
  std::uint64_t delta_pieces() const noexcept { return delta_pieces_.load(relaxed); }
  std::uint64_t turns(turn_result r) const noexcept { return turns_[static_cast<std::size_t>(r)].load(relaxed); }

  // Appends the exposition text of every metric above.
  void write(std::string& out) const;

 private:
  static constexpr auto relaxed = std::memory_order_relaxed;
  static constexpr std::array<double, 12> wait_buckets_s{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10,  30};
  // From half a millisecond (a Redis round trip) to a long reply.
  static constexpr std::array<double, 15> stage_buckets_s{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                          0.25,   0.5,   1,     2.5,   5,    10,    30};
  using stage_histogram = prometheus::histogram<stage_buckets_s.size()>;

  std::array<std::atomic<std::uint64_t>, turn_result_count> turns_{};
  std::atomic<std::uint64_t> requests_read_{0};
  std::atomic<std::uint64_t> requests_claimed_{0};
  std::atomic<std::uint64_t> lease_busy_{0};
  std::atomic<std::uint64_t> redis_commands_{0};
  std::atomic<std::uint64_t> redis_errors_{0};
  std::atomic<std::uint64_t> delta_events_{0};
  std::atomic<std::uint64_t> delta_pieces_{0};
  std::atomic<std::uint64_t> delta_bytes_{0};
  std::atomic<std::int64_t> active_{0};
  prometheus::histogram<wait_buckets_s.size()> queue_wait_{wait_buckets_s};
  std::array<stage_histogram, turn_stage_count> stages_{stage_histogram(stage_buckets_s), stage_histogram(stage_buckets_s),
                                                        stage_histogram(stage_buckets_s), stage_histogram(stage_buckets_s)};
};

}  // namespace parley::worker
