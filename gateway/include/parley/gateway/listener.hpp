#pragma once
// Accepts TCP connections and starts one http_session per connection on its own strand.
// The per-address connection cap is applied here: over it, the session only answers 429.
#include <parley/gateway/context.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace parley::gateway {

class listener {
 public:
  listener(net::io_context& ioc, context& ctx);
  // Binds and listens; returns the error (e.g. address in use) instead of throwing.
  boost::system::error_code open(const net::ip::tcp::endpoint& ep);
  net::ip::tcp::endpoint local_endpoint() const;
  void start();
  // Stops accepting (thread-safe: posted to the acceptor's strand).
  void stop();

 private:
  net::awaitable<void> accept_loop();
  net::io_context& ioc_;
  context& ctx_;
  net::ip::tcp::acceptor acceptor_;
};

}  // namespace parley::gateway
