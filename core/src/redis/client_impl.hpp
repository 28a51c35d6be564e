#pragma once
// One pipelined connection to one Redis server: the standalone client, and each node connection
// of a cluster client (cluster.hpp). See client.hpp for the behaviour callers see.
#include "completion.hpp"
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>

namespace parley::redis {

// Invariants (all state touched on strand_ only): `queue_` holds encoded requests not yet
// written; `inflight_` holds written requests in write order, so replies match front to back.
// A request is completed exactly once: by its replies, or by the failure of its connection.
//
// `wait_first_connect`: commands issued before the first connection is up wait for it (and fail
// with errc::not_connected when that attempt fails) instead of failing at once; for cluster node
// connections, which are opened when a command first needs them.
class client_impl : public detail::connection_base<client_impl> {
 public:
  using clock = std::chrono::steady_clock;
  using error_code = boost::system::error_code;
  static constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

  client_impl(net::any_io_executor ex, config cfg, bool wait_first_connect = false)
      : connection_base(std::move(ex), std::move(cfg), "redis"),
        watchdog_(strand_),
        wait_first_connect_(wait_first_connect) {}

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

  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }
  // Called on the strand after every connect with whether the server is a cluster node, before
  // any command is written on the connection; set before start().
  void on_server_kind(std::function<void(bool)> fn) { on_server_kind_ = std::move(fn); }
  // Called on the strand when an attempt to connect failed; set before start().
  void on_connect_failed(std::function<void(error_code)> fn) { connect_failed_ = std::move(fn); }
  const config& cfg() const noexcept { return cfg_; }

 private:
  friend class detail::connection_base<client_impl>;

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
    if (!connected() && !(wait_first_connect_ && !had_connection_)) return req.complete(errc::not_connected, {});
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

  void on_open() {
    if (on_server_kind_) on_server_kind_(cluster_enabled_);
    if (on_connect_) on_connect_();
  }
  void on_open_failed(error_code ec) {
    auto queued = std::move(queue_);
    queue_.clear();
    for (auto& r : queued) r.complete(errc::not_connected, {});
    if (connect_failed_) connect_failed_(ec);
  }
  void on_teardown() { watchdog_.cancel(); }
  void on_lost() { fail_all(timed_out_ ? errc::timeout : errc::connection_lost, errc::connection_lost); }
  void on_stopped() {
    watchdog_.cancel();
    fail_all(errc::shut_down, errc::shut_down);
  }

  loops_type connection_loops() {
    loops_type loops;
    loops.push_back([this] { return write_loop(); });
    loops.push_back([this] { return watchdog_loop(); });
    return loops;
  }

  bool on_reply(value v) {
    if (inflight_.empty()) return false;  // a reply nobody asked for
    auto& front = inflight_.front();
    front.replies.push_back(std::move(v));
    if (front.replies.size() == front.expected) {
      request done = std::move(front);
      inflight_.pop_front();
      done.complete({}, std::move(done.replies));
    }
    return true;
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

  net::steady_timer watchdog_;
  std::deque<request> queue_;
  std::deque<request> inflight_;
  std::function<void()> on_connect_;
  std::function<void(bool)> on_server_kind_;
  std::function<void(error_code)> connect_failed_;
  bool wait_first_connect_;
};


}  // namespace parley::redis
