#include <parley/gateway/http_session.hpp>
#include <parley/gateway/listener.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace parley::gateway {

namespace {
// Pause after an accept error such as EMFILE, so a full descriptor table does not spin a core.
constexpr std::chrono::milliseconds accept_error_pause{100};
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
    auto lease = ctx_.limiter->try_acquire(remote.address().to_string());
    if (!lease) spdlog::warn("connection cap reached for {}", remote.address().to_string());
    auto ex = socket.get_executor();
    net::co_spawn(ex, run_http_session(ctx_, boost::beast::tcp_stream(std::move(socket)), std::move(lease)),
                  net::detached);
  }
}

}  // namespace parley::gateway
