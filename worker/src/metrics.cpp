#include <parley/prometheus.hpp>
#include <parley/worker/metrics.hpp>

namespace parley::worker {

namespace {

using prometheus::counter;
using prometheus::header;
using prometheus::sample;

constexpr std::array<std::string_view, turn_result_count> turn_result_names{
    "completed", "stopped", "failed_attempt", "dead_lettered", "lease_lost", "handed_back", "session_gone"};
constexpr std::array<std::string_view, turn_stage_count> turn_stage_names{"prepare", "first_token", "generate",
                                                                          "finish"};

}  // namespace

void worker_metrics::queue_wait(std::chrono::milliseconds wait) noexcept {
  queue_wait_.observe(static_cast<double>(wait.count()) / 1000.0);
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

  queue_wait_.write(out, "parley_worker_queue_wait_seconds", "Time from a request's arrival to its first attempt");
  header(out, "parley_worker_turn_stage_seconds", "histogram",
         "Stages of a turn: prepare (taken up -> prompt handed to the model), first_token, generate (first -> last "
         "token), finish (last token -> reply_end written)");
  for (std::size_t i = 0; i < turn_stage_count; ++i) {
    stages_[i].write_samples(out, "parley_worker_turn_stage_seconds",
                             std::string("stage=\"").append(turn_stage_names[i]).append("\""));
  }
}

}  // namespace parley::worker
