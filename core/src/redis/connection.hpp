#pragma once
// The life of a Redis connection, shared by client and subscriber: open it (resolve, connect,
// handshake), run the derived class's loops side by side until the first one ends, tear down,
// wait with exponential backoff, open again; until stop().
//
// Derived (CRTP) supplies, all called on the strand:
//   loops_type connection_loops();  // writer, watchdog...: run beside the reader on a connection
//   bool on_reply(value v);         // one decoded reply; false: the stream is out of step
//   void on_open();      // just connected: resubscribe, notify listeners (cluster_enabled_ is set)
//   void on_open_failed(error_code ec);  // an attempt to connect failed (ec says why)
//   void on_teardown();  // the first loop ended: make the others end (cancel its own timers)
//   void on_lost();      // the connection ended without stop(): fail what depended on it
//   void on_stopped();   // stopped: complete everything still waiting with errc::shut_down
//                        // (called by stop() and again when run() ends: must be idempotent)
// and grants this class access to them (friend).
//
// Invariant: every member, the derived class's included, is touched on strand_ only, except
// connected_, which any thread may read. The socket is closed (and wake_ cancelled) whenever a
// connection is torn down, so a loop blocked on either returns.
#include "connect.hpp"
#include "resp.hpp"
#include "together.hpp"

#include <parley/redis/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace parley::redis::detail {

template <class Derived>
class connection_base : public std::enable_shared_from_this<Derived> {
 public:
  using loops_type = std::vector<std::function<net::awaitable<void>()>>;

  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }

  void start() {
    net::dispatch(strand_, [self = this->shared_from_this()] {
      auto& base = static_cast<connection_base&>(*self);
      if (base.started_ || base.stopped_) return;
      base.started_ = true;
      net::co_spawn(base.strand_, base.run(), net::detached);
    });
  }

  void stop() {
    net::dispatch(strand_, [self = this->shared_from_this()] {
      auto& base = static_cast<connection_base&>(*self);
      base.stopped_ = true;
      base.close_socket();
      base.backoff_.cancel();
      self->on_stopped();
    });
  }

 protected:
  // `what` names the connection in log lines ("redis", "redis pub/sub").
  connection_base(net::any_io_executor ex, config cfg, std::string what)
      : strand_(net::make_strand(ex)),
        cfg_(std::move(cfg)),
        socket_(strand_),
        wake_(strand_),
        backoff_(strand_),
        what_(std::move(what)) {}

  Derived& derived() { return static_cast<Derived&>(*this); }

  net::strand<net::any_io_executor> strand_;
  config cfg_;
  net::ip::tcp::socket socket_;
  net::steady_timer wake_;  // the writer's: new bytes to send, or the connection is closing
  bool stopped_ = false;
  bool closing_ = false;    // the current connection is being torn down
  bool timed_out_ = false;  // the current connection ended because a reply was overdue
  bool had_connection_ = false;
  bool cluster_enabled_ = false;  // of the current connection's server

 private:
  void close_socket() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    wake_.cancel();
  }

  net::awaitable<void> run() {
    auto self = this->shared_from_this();
    auto delay = cfg_.reconnect_min;
    int failures = 0;
    boost::system::error_code last_failure;
    while (!stopped_) {
      reader rd;
      socket_ = net::ip::tcp::socket(strand_);
      auto opened = co_await open_connection(socket_, cfg_, rd);
      const auto ec = opened.ec;
      const auto& server_message = opened.server_message;
      if (stopped_) break;
      if (!ec) {
        if (had_connection_) spdlog::info("{} {}:{} reconnected", what_, cfg_.host, cfg_.port);
        else if (failures > 0) spdlog::info("{} {}:{} connected", what_, cfg_.host, cfg_.port);
        delay = cfg_.reconnect_min;
        failures = 0;
        closing_ = false;
        timed_out_ = false;
        cluster_enabled_ = opened.cluster_enabled;
        connected_ = true;
        derived().on_open();
        had_connection_ = true;
        // Locals, not temporaries of the co_await expression: g++ 12 mishandles those.
        std::function<void()> teardown = [this] {
          closing_ = true;
          close_socket();
          derived().on_teardown();
        };
        loops_type loops = derived().connection_loops();
        loops.push_back([this, &rd] { return read_replies(rd); });
        co_await run_together(strand_, std::move(teardown), std::move(loops));
        connected_ = false;
        close_socket();
        if (!stopped_) {
          spdlog::warn("{} {}:{} connection lost{}", what_, cfg_.host, cfg_.port, timed_out_ ? " (timeout)" : "");
          derived().on_lost();
        }
      } else {
        close_socket();
        // Said once per kind of failure, not once per retry.
        if (failures++ == 0 || ec != last_failure) {
          if (ec == errc::handshake_refused)
            spdlog::error("{} {}:{} refused the handshake: {}; retrying", what_, cfg_.host, cfg_.port, server_message);
          else if (ec == errc::db_on_cluster)
            spdlog::error("{} {}:{}: {} ({})", what_, cfg_.host, cfg_.port, ec.message(), server_message);
          else if (ec == errc::loading)
            spdlog::warn("{} {}:{} is loading its dataset; waiting", what_, cfg_.host, cfg_.port);
          else
            spdlog::warn("{} {}:{} unreachable: {}; retrying", what_, cfg_.host, cfg_.port, ec.message());
        }
        last_failure = ec;
        derived().on_open_failed(ec);
      }
      if (stopped_) break;
      backoff_.expires_after(delay);
      co_await backoff_.async_wait(net::as_tuple(net::use_awaitable));
      delay = std::min(delay * 2, cfg_.reconnect_max);
    }
    connected_ = false;
    derived().on_stopped();
  }

  // Reads until the socket fails, the bytes are not RESP, or the derived class refuses a reply:
  // each of which ends the connection (a pipeline out of step cannot be trusted).
  net::awaitable<void> read_replies(reader& rd) {
    std::array<char, 16 * 1024> buf;
    for (;;) {
      auto [ec, n] = co_await socket_.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      rd.feed({buf.data(), n});
      for (;;) {
        auto next = rd.next();
        if (!next) co_return;
        if (!*next) break;
        if (!derived().on_reply(std::move(**next))) co_return;
      }
    }
  }

  net::steady_timer backoff_;
  std::string what_;
  std::atomic<bool> connected_{false};
  bool started_ = false;
};

}  // namespace parley::redis::detail
