#include <parley/worker/delta_writer.hpp>
#include <parley/worker/events.hpp>
#include <parley/worker/metrics.hpp>
#include <parley/worker/session_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace parley::worker {

delta_writer::delta_writer(net::any_io_executor ex, session_store& store, worker_metrics& metrics,
                           const worker_config& cfg, std::string token, std::string reply_to)
    : wake_(std::move(ex)),
      store_(store),
      metrics_(metrics),
      cfg_(cfg),
      token_(std::move(token)),
      reply_to_(std::move(reply_to)) {}

void delta_writer::append(std::string_view piece) {
  if (closed_ || failed_ || piece.empty()) return;
  if (!first_piece_time_) first_piece_time_ = std::chrono::system_clock::now();
  buffer_.append(piece);
  if (++pieces_ == 1) {
    first_piece_at_ = net::steady_timer::clock_type::now();
    wake_.cancel();
  } else if (pieces_ >= cfg_.flush_tokens) {
    wake_.cancel();
  }
}

void delta_writer::close() {
  closed_ = true;
  wake_.cancel();
}

net::awaitable<boost::system::result<bool>> delta_writer::run() {
  auto wait = net::as_tuple(net::use_awaitable);
  for (;;) {
    if (buffer_.empty()) {
      if (closed_) co_return true;
      wake_.expires_at(net::steady_timer::time_point::max());
      co_await wake_.async_wait(wait);
      continue;
    }
    // Leading edge: the first piece after a quiet period goes out at once (time to first token);
    // later ones wait until flush_interval after the previous write.
    const auto due = std::max(first_piece_at_, last_write_at_ + cfg_.flush_interval);
    if (!closed_ && pieces_ < cfg_.flush_tokens && net::steady_timer::clock_type::now() < due) {
      wake_.expires_at(due);
      co_await wake_.async_wait(wait);
      continue;
    }
    std::string text = std::move(buffer_);
    buffer_.clear();
    const int pieces = pieces_;
    pieces_ = 0;
    last_write_at_ = net::steady_timer::clock_type::now();
    std::vector<std::string> events{delta_event(reply_to_, text)};
    auto r = co_await store_.emit(token_, std::move(events));
    if (!r || !r->ours) {
      failed_ = true;
      buffer_.clear();
      if (!r) co_return boost::system::result<bool>(boost::system::in_place_error, r.error());
      co_return false;
    }
    bytes_written_ += text.size();
    metrics_.delta_event(static_cast<std::uint64_t>(pieces), text.size());
  }
}

}  // namespace parley::worker
