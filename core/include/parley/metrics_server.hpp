#pragma once
// A small HTTP/1.1 server for Prometheus: GET /metrics (text exposition format 0.0.4) and
// GET /healthz. Anything else is 404 (405 for another method on a known path).
//
// Thread-safety: runs on the executor it is given; `write` is called there and must only read
// thread-safe state (atomics, or accessors that lock).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace parley {

class metrics_server {
 public:
  using writer = std::function<void(std::string& out)>;
  struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: an ephemeral port (see port())
    std::chrono::milliseconds idle_timeout{30'000};
    std::string server_name;  // the Server header of every response, e.g. "parley-gateway"
  };

  metrics_server(boost::asio::any_io_executor ex, options opts, writer write);
  ~metrics_server();

  // Binds and starts accepting; an error when the address is unusable or the port taken.
  boost::system::error_code start();
  void stop();
  std::uint16_t port() const noexcept;

  struct state;  // shared with the connection coroutines

 private:
  std::shared_ptr<state> state_;
};

}  // namespace parley
