#pragma once
// Test support (header-only, used by tests only): a scripted HTTP(S) server on 127.0.0.1 and a
// free port, running on its own thread and io_context. Each connection reads one request and
// hands it to the test's handler, which writes raw bytes: a well-formed response, a stream cut
// mid-body, a slow trickle, malformed framing. Requests are recorded for assertions.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

namespace parley::http::testing {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

using recorded_request = bhttp::request<bhttp::string_body>;

class exchange {
 public:
  using plain = tcp::socket;
  using tls = net::ssl::stream<tcp::socket>;

  exchange(std::variant<plain, tls>& stream, recorded_request req, int index)
      : stream_(stream), request(std::move(req)), index(index) {}

  // Writes raw bytes; errors (the client went away) are ignored: the handler just ends.
  net::awaitable<bool> write(std::string_view raw) {
    auto [ec, n] = co_await std::visit(
        [raw](auto& s) { return net::async_write(s, net::buffer(raw), net::as_tuple(net::use_awaitable)); },
        stream_);
    co_return !ec;
  }
  net::awaitable<void> sleep(std::chrono::milliseconds d) {
    net::steady_timer t(co_await net::this_coro::executor, d);
    co_await t.async_wait(net::as_tuple(net::use_awaitable));
  }
  // The TCP socket underneath (for tests that tunnel or inspect the connection).
  tcp::socket& socket() {
    return std::visit([](auto& s) -> tcp::socket& {
      if constexpr (std::is_same_v<std::decay_t<decltype(s)>, plain>) return s; else return s.next_layer();
    }, stream_);
  }
  // Waits until the client closes the connection (or `limit` passes); true when it did.
  net::awaitable<bool> wait_for_close(std::chrono::milliseconds limit) {
    auto& sock = socket();
    net::steady_timer t(co_await net::this_coro::executor, limit);
    bool closed = false;
    t.async_wait([&](auto ec) { if (!ec) sock.cancel(); });
    char c;
    while (true) {
      auto [ec, n] = co_await sock.async_read_some(net::buffer(&c, 1), net::as_tuple(net::use_awaitable));
      if (ec) {
        closed = ec != net::error::operation_aborted;
        break;
      }
    }
    t.cancel();
    co_return closed;
  }

 private:
  std::variant<plain, tls>& stream_;

 public:
  recorded_request request;
  int index;  // 0 for the first request the server received, 1 for the second...
};

using handler = std::function<net::awaitable<void>(exchange&)>;

// A complete response with Content-Length.
inline std::string http_response(unsigned status, std::string_view content_type, std::string_view body,
                                 std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra_headers) +
                    "Connection: close\r\n\r\n";
  out += body;
  return out;
}
// The header of a chunked response; the body follows as chunk() pieces and last_chunk().
inline std::string chunked_header(unsigned status, std::string_view content_type, std::string_view extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + std::string(content_type) +
         "\r\nTransfer-Encoding: chunked\r\n" + std::string(extra_headers) + "Connection: close\r\n\r\n";
}
inline std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}
inline std::string last_chunk() { return "0\r\n\r\n"; }

class local_server {
 public:
  explicit local_server(handler h, std::shared_ptr<net::ssl::context> tls = nullptr)
      : handler_(std::move(h)), tls_(std::move(tls)), acceptor_(ioc_, {net::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(ioc_, accept_loop(), net::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~local_server() {
    ioc_.stop();
    thread_.join();
  }
  local_server(const local_server&) = delete;
  local_server& operator=(const local_server&) = delete;

  std::uint16_t port() const { return port_; }
  std::string base_url(std::string_view host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + std::string(host) + ":" + std::to_string(port_);
  }
  std::vector<recorded_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  net::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, sock] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      ++connections_;
      net::co_spawn(ioc_, serve(std::move(sock)), net::detached);
    }
  }

  net::awaitable<void> serve(tcp::socket sock) {
    std::variant<exchange::plain, exchange::tls> stream(std::in_place_type<exchange::plain>, std::move(sock));
    if (tls_) {
      auto s = std::move(std::get<exchange::plain>(stream));
      auto& t = stream.emplace<exchange::tls>(std::move(s), *tls_);
      auto [ec] = co_await t.async_handshake(net::ssl::stream_base::server, net::as_tuple(net::use_awaitable));
      if (ec) co_return;
    }
    boost::beast::flat_buffer buf;
    recorded_request req;
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return bhttp::async_read(s, buf, req, net::as_tuple(net::use_awaitable)); }, stream);
    if (ec) co_return;
    int index;
    {
      std::lock_guard lock(mutex_);
      index = static_cast<int>(requests_.size());
      requests_.push_back(req);
    }
    exchange ex(stream, std::move(req), index);
    co_await handler_(ex);
    std::visit([](auto& s) {
      boost::system::error_code ignored;
      auto& low = [&]() -> tcp::socket& {
        if constexpr (std::is_same_v<std::decay_t<decltype(s)>, exchange::plain>) return s; else return s.next_layer();
      }();
      low.shutdown(tcp::socket::shutdown_both, ignored);
      low.close(ignored);
    }, stream);
  }

  handler handler_;
  std::shared_ptr<net::ssl::context> tls_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<recorded_request> requests_;
  std::atomic<int> connections_{0};
};

}  // namespace parley::http::testing
