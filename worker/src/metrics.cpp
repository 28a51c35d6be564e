#include <parley/prometheus.hpp>
#include <parley/worker/metrics.hpp>

#include <cstdio>

namespace parley::worker {

namespace {

using prometheus::counter;
using prometheus::header;
using prometheus::sample;

constexpr std::array<std::string_view, turn_result_count> turn_result_names{
    "completed", "stopped", "failed_attempt", "dead_lettered", "lease_lost", "handed_back", "session_gone"};

}  // namespace

void worker_metrics::queue_wait(std::chrono::milliseconds wait) noexcept {
  const auto ms = wait.count() < 0 ? 0 : static_cast<std::uint64_t>(wait.count());
  for (std::size_t i = 0; i < wait_buckets_s.size(); ++i) {
    if (static_cast<double>(ms) / 1000.0 <= wait_buckets_s[i]) wait_counts_[i].fetch_add(1, relaxed);
  }
  wait_count_.fetch_add(1, relaxed);
  wait_sum_ms_.fetch_add(ms, relaxed);
}

void worker_metrics::write(std::string& out) const {
  header(out, "parley_worker_turns_total", "counter", "Turn attempts by outcome");
  for (std::size_t i = 0; i < turn_result_count; ++i) {
    sample(out, "parley_worker_turns_total", std::string("result=\"").append(turn_result_names[i]).append("\""),
           static_cast<double>(turns_[i].load(relaxed)));
  }
  counter(out, "parley_worker_requests_read_total", "Request entries read with XREADGROUP",
          requests_read_.load(relaxed));
  counter(out, "parley_worker_requests_claimed_total", "Request entries taken over from other consumers (XAUTOCLAIM)",
          requests_claimed_.load(relaxed));
  counter(out, "parley_worker_dead_letters_total", "Messages moved to the dead-letter stream",
          turns_[static_cast<std::size_t>(turn_result::dead_lettered)].load(relaxed));
  counter(out, "parley_worker_lease_busy_total", "Requests left to the worker already holding their session",
          lease_busy_.load(relaxed));
  counter(out, "parley_worker_redis_commands_total", "Redis commands issued (a script counts as one)",
          redis_commands_.load(relaxed));
  counter(out, "parley_worker_redis_errors_total", "Redis round trips that failed", redis_errors_.load(relaxed));
  counter(out, "parley_worker_delta_events_total", "Delta events written", delta_events_.load(relaxed));
  counter(out, "parley_worker_delta_pieces_total", "Generated pieces coalesced into delta events",
          delta_pieces_.load(relaxed));
  counter(out, "parley_worker_delta_bytes_total", "Reply bytes streamed in delta events", delta_bytes_.load(relaxed));
  header(out, "parley_worker_active_sessions", "gauge", "Sessions this worker is answering now");
  sample(out, "parley_worker_active_sessions", {}, static_cast<double>(active_.load(relaxed)));

  header(out, "parley_worker_queue_wait_seconds", "histogram", "Time from a request's arrival to its first attempt");
  for (std::size_t i = 0; i < wait_buckets_s.size(); ++i) {
    char le[32];
    std::snprintf(le, sizeof le, "le=\"%g\"", wait_buckets_s[i]);
    sample(out, "parley_worker_queue_wait_seconds_bucket", le, static_cast<double>(wait_counts_[i].load(relaxed)));
  }
  const auto count = wait_count_.load(relaxed);
  sample(out, "parley_worker_queue_wait_seconds_bucket", "le=\"+Inf\"", static_cast<double>(count));
  sample(out, "parley_worker_queue_wait_seconds_sum", {}, static_cast<double>(wait_sum_ms_.load(relaxed)) / 1000.0);
  sample(out, "parley_worker_queue_wait_seconds_count", {}, static_cast<double>(count));
}

}  // namespace parley::worker
