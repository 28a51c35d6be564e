#include <parley/test/http_client.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <strings.h>

namespace parley::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::string http_result::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  return {};
}

namespace {

net::awaitable<void> do_request(const http_options& opts, http_result& out) {
  auto ex = co_await net::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(opts.timeout);
  tcp::endpoint ep(net::ip::make_address(opts.host), opts.port);
  if (!opts.local_host.empty()) {
    beast::error_code bec;
    stream.socket().open(ep.protocol(), bec);
    if (!bec) stream.socket().bind(tcp::endpoint(net::ip::make_address(opts.local_host), 0), bec);
    if (bec) {
      out.error = "bind " + opts.local_host + ": " + bec.message();
      co_return;
    }
  }
  auto [cec] = co_await stream.async_connect(ep, net::as_tuple(net::use_awaitable));
  if (cec) {
    out.error = "connect: " + cec.message();
    co_return;
  }
  http::request<http::string_body> req;
  req.method_string(opts.method);
  req.target(opts.target);
  req.version(11);
  req.set(http::field::host, opts.host + ":" + std::to_string(opts.port));
  req.set(http::field::connection, "close");
  for (const auto& [k, v] : opts.headers) req.set(k, v);
  req.body() = opts.body;
  if (!opts.body.empty() || opts.method == "POST" || opts.method == "PUT") req.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, req, net::as_tuple(net::use_awaitable));
  if (wec) {
    out.error = "write: " + wec.message();
    co_return;
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  auto [rec, rn] = co_await http::async_read(stream, buf, parser, net::as_tuple(net::use_awaitable));
  if (rec) {
    out.error = "read: " + rec.message();
    co_return;
  }
  auto& res = parser.get();
  out.ok = true;
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = std::move(res.body());
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> do_raw(std::uint16_t port, const std::string& bytes, std::string& out,
                            std::chrono::milliseconds timeout) {
  auto ex = co_await net::this_coro::executor;
  beast::tcp_stream stream(ex);
  stream.expires_after(timeout);
  auto [cec] = co_await stream.async_connect(tcp::endpoint(net::ip::address_v4::loopback(), port),
                                             net::as_tuple(net::use_awaitable));
  if (cec) co_return;
  auto [wec, wn] = co_await net::async_write(stream, net::buffer(bytes), net::as_tuple(net::use_awaitable));
  if (wec && wec != net::error::connection_reset && wec != net::error::broken_pipe) co_return;
  char chunk[4096];
  while (true) {
    auto [rec, n] = co_await stream.async_read_some(net::buffer(chunk), net::as_tuple(net::use_awaitable));
    out.append(chunk, n);
    if (rec) break;
  }
}

}  // namespace

http_result http_request(const http_options& opts) {
  net::io_context ioc;
  http_result out;
  net::co_spawn(ioc, do_request(opts, out), net::detached);
  ioc.run();
  return out;
}

std::string raw_request(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds timeout) {
  net::io_context ioc;
  std::string out;
  net::co_spawn(ioc, do_raw(port, bytes, out, timeout), net::detached);
  ioc.run();
  return out;
}

}  // namespace parley::test
