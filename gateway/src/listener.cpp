#include <parley/gateway/http_routes.hpp>
#include <parley/gateway/http_session.hpp>
#include <parley/gateway/listener.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/status.hpp>
#include <spdlog/spdlog.h>

namespace parley::gateway {

namespace http = boost::beast::http;

namespace {
// Pause after an accept error such as EMFILE, so a full descriptor table does not spin a core.
constexpr std::chrono::milliseconds accept_error_pause{100};
constexpr std::chrono::seconds refusal_log_interval{10};
}  // namespace

listener::listener(net::io_context& ioc, context& ctx) : ioc_(ioc), ctx_(ctx), acceptor_(net::make_strand(ioc)) {}

boost::system::error_code listener::open(const net::ip::tcp::endpoint& ep) {
  boost::system::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  return ec;
}

net::ip::tcp::endpoint listener::local_endpoint() const { return acceptor_.local_endpoint(); }

void listener::start() { net::co_spawn(acceptor_.get_executor(), accept_loop(), net::detached); }

void listener::stop() {
  net::post(acceptor_.get_executor(), [this] {
    boost::system::error_code ec;
    acceptor_.close(ec);
  });
}

void listener::note_refusal(const std::string& address) {
  // One line per interval, not one per refused socket: a flood must not also flood the log.
  ++refused_;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_refusal_log_ < refusal_log_interval) return;
  last_refusal_log_ = now;
  if (address.empty())
    spdlog::warn("connection cap reached ({} in all): {} connection(s) refused", ctx_.limiter->total(), refused_);
  else
    spdlog::warn("connection cap reached for {}: {} connection(s) refused", address, refused_);
  refused_ = 0;
}

net::awaitable<void> listener::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(net::make_strand(ioc_), net::as_tuple(net::use_awaitable));
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) break;
      spdlog::warn("accept failed: {}", ec.message());
      net::steady_timer pause(acceptor_.get_executor(), accept_error_pause);
      co_await pause.async_wait(net::as_tuple(net::use_awaitable));
      continue;
    }
    boost::system::error_code rec;
    const auto remote = socket.remote_endpoint(rec);
    if (rec) continue;
    // Small frames (acks, deltas) must leave at once, not wait for the client's delayed ACK.
    socket.set_option(net::ip::tcp::no_delay(true), rec);
    connection_limiter::refusal why{};
    auto lease = ctx_.limiter->try_acquire(remote.address().to_string(), &why);
    if (!lease) {
      const bool address_full = why == connection_limiter::refusal::address_full;
      note_refusal(address_full ? remote.address().to_string() : std::string());
      if (address_full)
        refuse_connection(ctx_, std::move(socket), http::status::too_many_requests, error_text::too_many_connections);
      else
        refuse_connection(ctx_, std::move(socket), http::status::service_unavailable,
                          error_text::too_many_connections_in_all);
      continue;
    }
    auto ex = socket.get_executor();
    net::co_spawn(ex, run_http_session(ctx_, boost::beast::tcp_stream(std::move(socket)), std::move(lease)),
                  net::detached);
  }
}

}  // namespace parley::gateway
