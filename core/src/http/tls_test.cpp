#include <parley/http/client.hpp>
#include <parley/http/testing/local_server.hpp>
#include <parley/http/testing/run.hpp>
#include <parley/http/testing/test_pki.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/connect.hpp>

#include <gtest/gtest.h>

namespace parley::http {
namespace {

using namespace std::chrono_literals;
using testing::exchange;
using testing::http_response;
using testing::local_server;
using testing::run_with_deadline;
using testing::test_pki;
using tcp = net::ip::tcp;

request get(std::string url) {
  request r;
  r.url = std::move(url);
  return r;
}

class tls_client : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new test_pki(test_pki::create()); }
  static void TearDownTestSuite() {
    pki_->remove();
    delete pki_;
  }
  static client make_client(bool trust_test_ca) {
    client_options o;
    o.connect_timeout = 3s;
    if (trust_test_ca) o.tls.ca_file = pki_->ca_cert.string();
    return client::create(o).value();
  }
  static test_pki* pki_;
};
test_pki* tls_client::pki_ = nullptr;

testing::handler hello = [](exchange& ex) -> net::awaitable<void> {
  co_await ex.write(http_response(200, "text/plain", "secure hello"));
};

TEST_F(tls_client, verifies_a_certificate_signed_by_a_trusted_ca_by_name_and_by_ip) {
  local_server server(hello, pki_->server_context());
  auto c = make_client(true);
  for (auto host : {"localhost", "127.0.0.1"}) {
    auto r = run_with_deadline(c.fetch(get(server.base_url(host) + "/")));
    ASSERT_TRUE(r) << host << ": " << r.error().message();
    EXPECT_EQ(r->body, "secure hello");
  }
}

TEST_F(tls_client, rejects_a_certificate_from_an_untrusted_ca) {
  local_server server(hello, pki_->server_context());
  auto c = make_client(false);
  auto r = run_with_deadline(c.fetch(get(server.base_url("localhost") + "/")));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos) << r.error().message();
}

TEST_F(tls_client, rejects_a_trusted_certificate_for_another_host_name) {
  auto other = test_pki::create("DNS:other.example");
  local_server server(hello, other.server_context());
  client_options o;
  o.tls.ca_file = other.ca_cert.string();
  auto c = client::create(o).value();
  auto r = run_with_deadline(c.fetch(get(server.base_url("localhost") + "/")));
  other.remove();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("certificate verify failed"), std::string::npos) << r.error().message();
}

TEST_F(tls_client, sends_sni) {
  std::string seen_sni;
  auto ctx = pki_->server_context();
  SSL_CTX_set_tlsext_servername_callback(ctx->native_handle(), +[](SSL* ssl, int*, void* arg) -> int {
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
      *static_cast<std::string*>(arg) = name;
    return SSL_TLSEXT_ERR_OK;
  });
  SSL_CTX_set_tlsext_servername_arg(ctx->native_handle(), &seen_sni);
  local_server server(hello, ctx);
  auto r = run_with_deadline(make_client(true).fetch(get(server.base_url("localhost") + "/")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(seen_sni, "localhost");
}

TEST_F(tls_client, unreadable_ca_file_is_tls_setup) {
  client_options o;
  o.tls.ca_file = "/nonexistent/ca.pem";
  auto c = client::create(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), errc::tls_setup);
}

TEST_F(tls_client, handshake_that_never_completes_hits_connect_timeout) {
  // A listening socket that never accepts or answers: the TLS handshake waits forever.
  net::io_context ioc;
  tcp::acceptor quiet(ioc, {net::ip::make_address("127.0.0.1"), 0});
  client_options o;
  o.connect_timeout = 300ms;
  auto c = client::create(o).value();
  auto r = run_with_deadline(
      c.fetch(get("https://127.0.0.1:" + std::to_string(quiet.local_endpoint().port()) + "/")));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::connect_timeout);
}

net::awaitable<void> pipe(tcp::socket& from, tcp::socket& to) {
  char buf[4096];
  while (true) {
    auto [ec, n] = co_await from.async_read_some(net::buffer(buf), net::as_tuple(net::use_awaitable));
    if (ec) break;
    auto [wec, wn] = co_await net::async_write(to, net::buffer(buf, n), net::as_tuple(net::use_awaitable));
    if (wec) break;
  }
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
}

TEST_F(tls_client, https_through_a_connect_proxy_is_verified_end_to_end) {
  local_server server(hello, pki_->server_context());
  const auto target_port = server.port();
  local_server proxy([target_port](exchange& ex) -> net::awaitable<void> {
    using namespace net::experimental::awaitable_operators;
    tcp::socket upstream(co_await net::this_coro::executor);
    auto [ec] = co_await upstream.async_connect({net::ip::make_address("127.0.0.1"), target_port},
                                                net::as_tuple(net::use_awaitable));
    if (ec) co_return;
    co_await ex.write("HTTP/1.1 200 Connection established\r\n\r\n");
    co_await (pipe(ex.socket(), upstream) && pipe(upstream, ex.socket()));
  });
  client_options o;
  o.tls.ca_file = pki_->ca_cert.string();
  o.proxy.https_proxy = "http://127.0.0.1:" + std::to_string(proxy.port());
  auto c = client::create(o).value();
  auto r = run_with_deadline(c.fetch(get("https://localhost:" + std::to_string(target_port) + "/x")));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->body, "secure hello");
  ASSERT_EQ(proxy.requests().size(), 1u);
  EXPECT_EQ(proxy.requests()[0].target(), "localhost:" + std::to_string(target_port));
}

}  // namespace
}  // namespace parley::http
