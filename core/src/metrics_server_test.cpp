#include <parley/metrics_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include <optional>

namespace parley {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using namespace std::chrono_literals;

// GET `target` from 127.0.0.1:`port` on the caller's io_context.
net::awaitable<void> get(std::uint16_t port, std::string target,
                         std::optional<http::response<http::string_body>>& out) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  stream.expires_after(5s);
  auto tuple = net::as_tuple(net::use_awaitable);
  auto [cec] = co_await stream.async_connect({net::ip::make_address("127.0.0.1"), port}, tuple);
  if (cec) co_return;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  auto [wec, wn] = co_await http::async_write(stream, req, tuple);
  if (wec) co_return;
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  auto [rec, rn] = co_await http::async_read(stream, buf, res, tuple);
  if (!rec) out = std::move(res);
}

TEST(metrics_server, names_itself_as_told_and_serves_the_writer_text) {
  net::io_context io;
  metrics_server::options opts;
  opts.server_name = "parley-gateway";
  metrics_server server(io.get_executor(), opts, [](std::string& out) { out += "parley_up 1\n"; });
  ASSERT_FALSE(server.start());
  std::optional<http::response<http::string_body>> metrics, health;
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    co_await get(server.port(), "/metrics", metrics);
    co_await get(server.port(), "/healthz", health);
    server.stop();
  }, net::detached);
  io.run_for(20s);
  ASSERT_TRUE(metrics && health) << "no response before the deadline";
  EXPECT_EQ((*metrics)[http::field::server], "parley-gateway");
  EXPECT_EQ(metrics->body(), "parley_up 1\n");
  EXPECT_EQ((*health)[http::field::server], "parley-gateway");
  EXPECT_EQ(health->body(), "ok\n");
}

}  // namespace
}  // namespace parley
