#include <parley/metrics_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <spdlog/spdlog.h>

namespace parley {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Shared with the coroutines so that a connection outliving stop() finds the state alive.
struct metrics_server::state {
  state(net::any_io_executor ex, options o, writer w) : acceptor(ex), opts(std::move(o)), write(std::move(w)) {}
  tcp::acceptor acceptor;
  options opts;
  writer write;
  std::uint16_t bound_port = 0;
};

namespace {

// A scrape request is a request line and a few headers.
constexpr std::size_t max_request_bytes = 8192;

http::response<http::string_body> respond(const http::request<http::string_body>& req,
                                          const metrics_server::state& st) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set(http::field::server, st.opts.server_name);
  const auto target = req.target();
  const auto path = target.substr(0, target.find('?'));
  if (path != "/metrics" && path != "/healthz") {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "not found: GET /metrics or /healthz\n";
  } else if (req.method() != http::verb::get) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "method not allowed: use GET\n";
  } else if (path == "/healthz") {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = "ok\n";
  } else {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    st.write(res.body());
  }
  res.prepare_payload();
  return res;
}

net::awaitable<void> serve(std::shared_ptr<metrics_server::state> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  auto tuple = net::as_tuple(net::use_awaitable);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_request_bytes);
    parser.body_limit(max_request_bytes);
    stream.expires_after(st->opts.idle_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, tuple);
    if (ec) break;
    auto res = respond(parser.get(), *st);
    const bool keep = res.keep_alive();
    auto [wec, wn] = co_await http::async_write(stream, res, tuple);
    if (wec || !keep) break;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> accept_loop(std::shared_ptr<metrics_server::state> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(net::as_tuple(net::use_awaitable));
    if (ec == net::error::operation_aborted || !st->acceptor.is_open()) co_return;
    if (ec) continue;
    net::co_spawn(st->acceptor.get_executor(), serve(st, std::move(socket)), net::detached);
  }
}

}  // namespace

metrics_server::metrics_server(net::any_io_executor ex, options opts, writer write)
    : state_(std::make_shared<state>(std::move(ex), std::move(opts), std::move(write))) {}

metrics_server::~metrics_server() { stop(); }

boost::system::error_code metrics_server::start() {
  boost::system::error_code ec;
  auto address = net::ip::make_address(state_->opts.host, ec);
  if (ec) return ec;
  tcp::endpoint ep(address, state_->opts.port);
  auto& a = state_->acceptor;
  if (a.open(ep.protocol(), ec); ec) return ec;
  if (a.set_option(net::socket_base::reuse_address(true), ec); ec) return ec;
  if (a.bind(ep, ec); ec) return ec;
  if (a.listen(net::socket_base::max_listen_connections, ec); ec) return ec;
  state_->bound_port = a.local_endpoint().port();
  net::co_spawn(a.get_executor(), accept_loop(state_), net::detached);
  return {};
}

void metrics_server::stop() {
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
}

std::uint16_t metrics_server::port() const noexcept { return state_->bound_port; }

}  // namespace parley
