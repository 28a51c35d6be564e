#pragma once
// Accepts TCP connections and starts one http_session per connection on its own strand.
// The connection caps (per address, in all) are applied here, at accept, before anything is
// read: over them the connection gets 429 (its address is over) or 503 (all are) and is closed.
// Every accepted socket gets TCP_NODELAY.
#include <parley/gateway/context.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <string>

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
  // Counts a refused connection and logs at most one line per interval. Acceptor strand only.
  void note_refusal(const std::string& address);
  net::io_context& ioc_;
  context& ctx_;
  net::ip::tcp::acceptor acceptor_;
  std::size_t refused_ = 0;
  std::chrono::steady_clock::time_point last_refusal_log_{};
};

}  // namespace parley::gateway
