#include <parley/redis/client.hpp>

#include "completion.hpp"
#include "connect.hpp"
#include "resp.hpp"
#include "together.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <deque>

namespace parley::redis {

namespace {
using boost::system::error_code;
using net::ip::tcp;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

}  // namespace

// Invariants (all state touched on strand_ only): `queue_` holds encoded requests not yet
// written; `inflight_` holds written requests in write order, so replies match front to back.
// A request is completed exactly once: by its replies, or by the failure of its connection.
class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(net::any_io_executor ex, config cfg)
      : strand_(net::make_strand(ex)),
        cfg_(std::move(cfg)),
        socket_(strand_),
        wake_(strand_),
        watchdog_(strand_),
        backoff_(strand_) {}

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] {
      if (self->started_ || self->stopped_) return;
      self->started_ = true;
      net::co_spawn(self->strand_, self->run(), net::detached);
    });
  }

  void stop() {
    net::dispatch(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      error_code ignored;
      self->socket_.close(ignored);
      self->wake_.cancel();
      self->watchdog_.cancel();
      self->backoff_.cancel();
      self->fail_all(errc::shut_down, errc::shut_down);
    });
  }

  template <class Token>
  auto async_exec(std::vector<command> cmds, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::vector<value>)>(
        [self = shared_from_this()](auto handler, std::vector<command> cmds) {
          request req;
          for (const auto& c : cmds) detail::encode(c, req.bytes);
          req.expected = cmds.size();
          req.complete = detail::bind_completion<error_code, std::vector<value>>(std::move(handler), self->strand_);
          net::dispatch(self->strand_, [self, req = std::move(req)]() mutable { self->submit(std::move(req)); });
        },
        token, std::move(cmds));
  }

  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }

 private:
  struct request {
    std::string bytes;
    std::size_t expected = 0;
    std::vector<value> replies;
    detail::unique_function<void(error_code, std::vector<value>)> complete;
    clock::time_point deadline;
  };

  void submit(request req) {
    if (req.expected == 0) return req.complete({}, {});
    if (stopped_) return req.complete(errc::shut_down, {});
    if (!connected()) return req.complete(errc::not_connected, {});
    if (queue_.size() >= cfg_.max_queued) return req.complete(errc::overloaded, {});
    queue_.push_back(std::move(req));
    wake_.cancel();
  }

  void fail_all(errc first_inflight, errc rest) {
    auto inflight = std::move(inflight_);
    auto queued = std::move(queue_);
    inflight_.clear();
    queue_.clear();
    bool first = true;
    for (auto& r : inflight) {
      r.complete(first ? first_inflight : rest, {});
      first = false;
    }
    for (auto& r : queued) r.complete(errc::not_connected, {});
  }

  net::awaitable<void> run() {
    auto self = shared_from_this();
    auto delay = cfg_.reconnect_min;
    while (!stopped_) {
      detail::reader rd;
      socket_ = tcp::socket(strand_);
      auto ec = co_await detail::open_connection(socket_, cfg_, rd);
      if (stopped_) break;
      if (!ec) {
        if (had_connection_ || failures_ > 0) spdlog::info("redis {}:{} connected", cfg_.host, cfg_.port);
        delay = cfg_.reconnect_min;
        failures_ = 0;
        had_connection_ = true;
        connected_ = true;
        if (on_connect_) on_connect_();
        timed_out_ = false;
        closing_ = false;
        // Built before the co_await: g++ 12 rejects braced lists inside co_await expressions.
        std::vector<std::function<net::awaitable<void>()>> loops;
        loops.push_back([this, &rd] { return read_loop(rd); });
        loops.push_back([this] { return write_loop(); });
        loops.push_back([this] { return watchdog_loop(); });
        co_await detail::run_together(
            strand_,
            [this] {
              closing_ = true;
              error_code ignored;
              socket_.close(ignored);
              wake_.cancel();
              watchdog_.cancel();
            },
            loops);
        connected_ = false;
        error_code ignored;
        socket_.close(ignored);
        if (!stopped_) spdlog::warn("redis {}:{} connection lost{}", cfg_.host, cfg_.port, timed_out_ ? " (timeout)" : "");
        fail_all(timed_out_ ? errc::timeout : errc::connection_lost, errc::connection_lost);
      } else if (failures_++ == 0) {
        spdlog::warn("redis {}:{} unreachable: {}; retrying", cfg_.host, cfg_.port, ec.message());
      }
      if (stopped_) break;
      backoff_.expires_after(delay);
      co_await backoff_.async_wait(use_tuple);
      delay = std::min(delay * 2, cfg_.reconnect_max);
    }
    connected_ = false;
    fail_all(errc::shut_down, errc::shut_down);
  }

  net::awaitable<void> read_loop(detail::reader& rd) {
    std::array<char, 16 * 1024> buf;
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(net::buffer(buf), use_tuple);
      if (ec) co_return;
      rd.feed({buf.data(), n});
      for (;;) {
        auto next = rd.next();
        if (!next) co_return;  // protocol error: reconnect
        if (!*next) break;
        if (inflight_.empty()) co_return;  // a reply nobody asked for: the stream is out of step
        auto& front = inflight_.front();
        front.replies.push_back(std::move(**next));
        if (front.replies.size() == front.expected) {
          request done = std::move(front);
          inflight_.pop_front();
          done.complete({}, std::move(done.replies));
        }
      }
    }
  }

  net::awaitable<void> write_loop() {
    std::string out;
    for (;;) {
      if (queue_.empty()) {
        wake_.expires_at(clock::time_point::max());
        co_await wake_.async_wait(use_tuple);
        if (closing_) co_return;
        continue;
      }
      out.clear();
      bool was_idle = inflight_.empty();
      auto deadline = clock::now() + cfg_.command_timeout;
      while (!queue_.empty()) {
        auto& r = queue_.front();
        out += r.bytes;
        r.bytes.clear();
        r.bytes.shrink_to_fit();
        r.deadline = deadline;
        inflight_.push_back(std::move(r));
        queue_.pop_front();
      }
      if (was_idle) watchdog_.cancel();
      auto [ec, n] = co_await net::async_write(socket_, net::buffer(out), use_tuple);
      if (ec) co_return;
      if (out.capacity() > 1024 * 1024) out = std::string{};
    }
  }

  net::awaitable<void> watchdog_loop() {
    for (;;) {
      if (inflight_.empty()) watchdog_.expires_at(clock::time_point::max());
      else watchdog_.expires_at(inflight_.front().deadline);
      co_await watchdog_.async_wait(use_tuple);
      if (closing_) co_return;
      if (!inflight_.empty() && inflight_.front().deadline <= clock::now()) {
        timed_out_ = true;
        co_return;
      }
    }
  }

  net::strand<net::any_io_executor> strand_;
  config cfg_;
  tcp::socket socket_;
  net::steady_timer wake_;
  net::steady_timer watchdog_;
  net::steady_timer backoff_;
  std::deque<request> queue_;
  std::deque<request> inflight_;
  std::function<void()> on_connect_;
  std::atomic<bool> connected_{false};
  bool started_ = false;
  bool stopped_ = false;
  bool timed_out_ = false;
  bool closing_ = false;  // the current connection is being torn down
  bool had_connection_ = false;
  int failures_ = 0;
};

client::client(net::any_io_executor ex, config cfg)
    : impl_(std::make_shared<client_impl>(std::move(ex), std::move(cfg))) {}

client::~client() { impl_->stop(); }

void client::start() { impl_->start(); }
void client::stop() { impl_->stop(); }
bool client::connected() const noexcept { return impl_->connected(); }
void client::on_connect(std::function<void()> fn) { impl_->on_connect(std::move(fn)); }

net::awaitable<boost::system::result<std::vector<value>>> client::exec_pipeline(std::vector<command> cmds) {
  auto impl = impl_;
  auto [ec, replies] = co_await impl->async_exec(std::move(cmds), use_tuple);
  if (ec) co_return ec;
  co_return std::move(replies);
}

net::awaitable<boost::system::result<value>> client::exec(command cmd) {
  std::vector<command> one;
  one.push_back(std::move(cmd));
  auto r = co_await exec_pipeline(std::move(one));
  if (!r) co_return r.error();
  co_return std::move(r->front());
}

}  // namespace parley::redis
