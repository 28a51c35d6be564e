#include <parley/http/client.hpp>
#include <parley/http/testing/local_server.hpp>
#include <parley/http/testing/run.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace parley::http {
namespace {

using namespace std::chrono_literals;
using testing::chunk;
using testing::chunked_header;
using testing::exchange;
using testing::http_response;
using testing::last_chunk;
using testing::local_server;
using testing::run_with_deadline;
template <class T>
using result = boost::system::result<T>;

request get(std::string url) {
  request r;
  r.url = std::move(url);
  return r;
}

// TCP_NODELAY of this process's IPv4 socket bound to local `port`, nullopt when there is none.
// The server and the client of a test share the process, so the client's end of a connection
// is found by the port the server sees as the peer's.
std::optional<bool> no_delay_of_socket_on_port(std::uint16_t port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(entry.path().filename().string());
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || addr.sin_family != AF_INET) continue;
    if (ntohs(addr.sin_port) != port) continue;
    int on = 0;
    socklen_t on_len = sizeof on;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &on_len) != 0) continue;
    return on != 0;
  }
  return std::nullopt;
}

client make_client(std::chrono::milliseconds read_timeout = 5s) {
  client_options o;
  o.read_timeout = read_timeout;
  o.connect_timeout = 2s;
  return client::create(o).value();
}

TEST(http_client, fetches_a_response_and_sends_headers_and_body) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(201, "application/json", R"({"ok":true})", "X-Test: yes\r\n"));
  });
  auto c = make_client();
  request req;
  req.method = beast::http::verb::post;
  req.url = server.base_url() + "/v1/things?a=b";
  req.headers = {{"Authorization", "Bearer k"}};
  req.body = "payload";
  auto r = run_with_deadline(c.fetch(req));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->status, 201u);
  EXPECT_EQ(r->body, R"({"ok":true})");
  EXPECT_EQ(r->headers["X-Test"], "yes");
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target(), "/v1/things?a=b");
  EXPECT_EQ(seen[0].body(), "payload");
  EXPECT_EQ(seen[0][beast::http::field::authorization], "Bearer k");
  EXPECT_EQ(seen[0][beast::http::field::host], "127.0.0.1:" + std::to_string(server.port()));
}

TEST(http_client, sets_tcp_nodelay_on_its_socket) {
  enum : int { not_checked, not_found, off, on };
  std::atomic<int> seen{not_checked};
  local_server server([&](exchange& ex) -> net::awaitable<void> {
    // The client is waiting for this response, so its socket is open now.
    auto no_delay = no_delay_of_socket_on_port(ex.socket().remote_endpoint().port());
    seen = !no_delay ? not_found : *no_delay ? on : off;
    co_await ex.write(http_response(200, "text/plain", "ok"));
  });
  auto c = make_client();
  auto r = run_with_deadline(c.fetch(get(server.base_url() + "/")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(seen.load(), on) << "1: the client's socket was not found, 2: TCP_NODELAY is off";
}

TEST(http_client, delivers_each_chunk_before_the_next_one_is_sent) {
  std::atomic<bool> got_first{false};
  local_server server([&](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(chunked_header(200, "text/plain") + chunk("first"));
    // The second chunk only goes out once the client has seen the first: a client that waited
    // for more data before returning would deadlock here and miss the test's deadline.
    for (int i = 0; i < 500 && !got_first; ++i) co_await ex.sleep(10ms);
    co_await ex.write(chunk("second") + last_chunk());
  });
  auto c = make_client();
  auto pieces = run_with_deadline([&]() -> net::awaitable<std::vector<std::string>> {
    std::vector<std::string> out;
    auto s = co_await c.open(get(server.base_url() + "/"));
    if (!s) co_return out;
    char buf[64];
    while (true) {
      auto n = co_await s->read_some(buf);
      if (!n || *n == 0) break;
      out.emplace_back(buf, *n);
      got_first = true;
    }
    co_return out;
  }(), 10s);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "first");
  EXPECT_EQ(pieces[1], "second");
}

TEST(http_client, slow_header_hits_read_timeout) {
  local_server server([](exchange& ex) -> net::awaitable<void> { co_await ex.sleep(3s); });
  auto c = make_client(200ms);
  auto r = run_with_deadline(c.fetch(get(server.base_url() + "/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::read_timeout);
}

TEST(http_client, stalled_body_hits_read_timeout) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(chunked_header(200, "text/plain") + chunk("a"));
    co_await ex.sleep(3s);
  });
  auto c = make_client(300ms);
  auto r = run_with_deadline(c.fetch(get(server.base_url() + "/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::read_timeout);
}

TEST(http_client, body_cut_short_is_connection_closed) {
  local_server content_length([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b");
  });
  local_server chunked([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(chunked_header(200, "text/plain") + chunk("partial"));
  });
  auto c = make_client();
  for (auto* s : {&content_length, &chunked}) {
    auto r = run_with_deadline(c.fetch(get(s->base_url() + "/")));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::connection_closed);
  }
}

TEST(http_client, oversized_body_is_rejected) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "text/plain", std::string(2000, 'x')));
  });
  client_options o;
  o.max_body_bytes = 1000;
  auto c = client::create(o).value();
  auto r = run_with_deadline(c.fetch(get(server.base_url() + "/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::body_too_large);
}

TEST(http_client, stop_from_another_thread_closes_the_connection_at_once) {
  std::atomic<bool> server_saw_close{false};
  local_server server([&](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(chunked_header(200, "text/plain") + chunk("a"));
    server_saw_close = co_await ex.wait_for_close(10s);
  });
  auto c = make_client(30s);
  std::stop_source stop;
  std::thread stopper;
  auto started = std::chrono::steady_clock::now();
  auto r = run_with_deadline([&]() -> net::awaitable<result<std::size_t>> {
    auto s = co_await c.open(get(server.base_url() + "/"), stop.get_token());
    if (!s) co_return s.error();
    char buf[16];
    auto first = co_await s->read_some(buf);
    if (!first) co_return first.error();
    stopper = std::thread([&] { stop.request_stop(); });
    co_return co_await s->read_some(buf);
  }(), 10s);
  stopper.join();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  for (int i = 0; i < 200 && !server_saw_close; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(server_saw_close);
}

TEST(http_client, stop_requested_before_open_connects_nowhere) {
  local_server server([](exchange& ex) -> net::awaitable<void> { co_return; });
  std::stop_source stop;
  stop.request_stop();
  auto c = make_client();
  auto r = run_with_deadline(c.fetch(get(server.base_url() + "/"), stop.get_token()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cancelled);
  EXPECT_EQ(server.connections(), 0);
}

TEST(http_client, refused_connection_and_bad_url_are_errors) {
  std::uint16_t port;
  {
    net::io_context ioc;
    net::ip::tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  auto c = make_client();
  auto r = run_with_deadline(c.fetch(get("http://127.0.0.1:" + std::to_string(port) + "/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), net::error::connection_refused);
  auto bad = run_with_deadline(c.fetch(get("not a url")));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), errc::invalid_url);
}

TEST(http_client, plain_http_through_proxy_uses_absolute_form_and_proxy_auth) {
  local_server proxy([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "text/plain", "via proxy"));
  });
  client_options o;
  o.proxy.http_proxy = "http://user:pw@127.0.0.1:" + std::to_string(proxy.port());
  auto c = client::create(o).value();
  auto r = run_with_deadline(c.fetch(get("http://upstream.invalid:8080/path?q=1")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "via proxy");
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target(), "http://upstream.invalid:8080/path?q=1");
  EXPECT_EQ(seen[0][beast::http::field::host], "upstream.invalid:8080");
  EXPECT_EQ(seen[0][beast::http::field::proxy_authorization], "Basic dXNlcjpwdw==");
}

TEST(http_client, proxy_refusing_connect_is_proxy_failed) {
  local_server proxy([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
  });
  client_options o;
  o.proxy.https_proxy = "127.0.0.1:" + std::to_string(proxy.port());
  auto c = client::create(o).value();
  auto r = run_with_deadline(c.fetch(get("https://upstream.invalid/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::proxy_failed);
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].method(), beast::http::verb::connect);
  EXPECT_EQ(proxy.requests()[0].target(), "upstream.invalid:443");
}

}  // namespace
}  // namespace parley::http
