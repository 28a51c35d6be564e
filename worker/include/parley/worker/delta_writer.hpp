#pragma once
// Coalesces the pieces a backend generates into `delta` events: at most one event per
// `flush_interval` (the first piece after a pause goes out at once), and at most `flush_tokens`
// pieces share one event. One write is in flight
// at a time, so pieces arriving meanwhile join the next event: under load the events get
// bigger instead of more numerous, and Redis commands per token stay bounded.
//
// Thread-safety: append() and close() are called on the executor run() runs on.
#include <parley/worker/config.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace parley::worker {

class session_store;
class worker_metrics;

class delta_writer {
 public:
  delta_writer(net::any_io_executor ex, session_store& store, worker_metrics& metrics, const worker_config& cfg,
               std::string token, std::string reply_to);

  void append(std::string_view piece);
  // No more pieces: run() writes what is buffered and returns.
  void close();
  // Writes events until close(). true when everything was written; false when the lease was
  // lost (nothing more may be written); an error when Redis failed. On false or an error the
  // caller must end the generation: pieces appended afterwards are dropped.
  net::awaitable<boost::system::result<bool>> run();

  std::size_t bytes_written() const noexcept { return bytes_written_; }
  // When the first non-empty piece arrived (system clock; the turn's first-token mark), or
  // nullopt if none has.
  std::optional<std::chrono::system_clock::time_point> first_piece_time() const noexcept { return first_piece_time_; }

 private:
  net::steady_timer wake_;
  session_store& store_;
  worker_metrics& metrics_;
  const worker_config& cfg_;
  std::string token_;
  std::string reply_to_;
  std::string buffer_;
  int pieces_ = 0;
  net::steady_timer::time_point first_piece_at_{};
  std::optional<std::chrono::system_clock::time_point> first_piece_time_;
  net::steady_timer::time_point last_write_at_{};
  bool closed_ = false;
  bool failed_ = false;
  std::size_t bytes_written_ = 0;
};

}  // namespace parley::worker
