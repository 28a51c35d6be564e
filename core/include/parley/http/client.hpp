#pragma once
// An HTTP/1.1 client on Beast and Asio coroutines: plain TCP or TLS (OpenSSL, peer certificate
// verified against the system CA store plus an optional extra CA file, SNI, host name check),
// through an HTTP proxy when configured (CONNECT tunnel for https, absolute-form for http),
// connect and read timeouts, and response bodies read incrementally as they arrive.
//
// One request per connection: the response_stream owns its socket, and the coroutine frame
// that holds the response_stream owns the connection. Nothing is pooled.
//
// Cancellation: a request started with a std::stop_token closes its socket as soon as stop is
// requested (from any thread): the close is posted to the executor of the coroutine that
// called open(), so that executor must be single-threaded or a strand, as for any other use of
// the stream. Every pending and later operation then fails with errc::cancelled.
#include <parley/http/error.hpp>
#include <parley/http/proxy.hpp>
#include <parley/http/url.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace parley::http {

namespace net = boost::asio;
namespace beast = boost::beast;

struct tls_options {
  // Verify the server's certificate chain and host name. Turning it off is for debugging only.
  bool verify_peer = true;
  // Trust the operating system's CA store (OpenSSL's default paths: /etc/ssl/certs).
  bool system_ca = true;
  // A PEM file of extra trusted CAs (a private CA, a TLS-intercepting proxy); empty for none.
  std::string ca_file;
};

struct client_options {
  // Budget for name resolution, TCP connect, the proxy tunnel and the TLS handshake together.
  std::chrono::milliseconds connect_timeout{10'000};
  // The longest wait for the next bytes of a response (header or body); an idle stream longer
  // than this fails with errc::read_timeout. It also bounds writing the request.
  std::chrono::milliseconds read_timeout{60'000};
  // Limit for bodies read whole (fetch(), response_stream::read_all()).
  std::size_t max_body_bytes = 16 << 20;
  tls_options tls;
  // Direct connections unless set; proxy_settings::from_env() gives the usual environment rules.
  proxy_settings proxy;
  std::string user_agent = "parley/0.1";
};

struct request {
  beast::http::verb method = beast::http::verb::get;
  std::string url;
  // Extra headers; Host, User-Agent and Content-Length are set by the client.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct response {
  unsigned status = 0;
  beast::http::fields headers;
  std::string body;
};

class response_stream {
 public:
  class impl;
  explicit response_stream(std::shared_ptr<impl> p);
  response_stream(response_stream&&) noexcept;
  response_stream& operator=(response_stream&&) noexcept;
  ~response_stream();

  unsigned status() const;
  const beast::http::fields& headers() const;

  // Reads the next part of the body into `out`, waiting until at least one byte is available.
  // Returns the number of bytes written; 0 means the body is complete. A connection closed
  // before the end of the body is errc::connection_closed.
  net::awaitable<boost::system::result<std::size_t>> read_some(std::span<char> out);
  // Reads the rest of the body (at most client_options::max_body_bytes).
  net::awaitable<boost::system::result<std::string>> read_all();
  // Closes the connection now; later reads fail with errc::cancelled. Call on the stream's executor.
  void close();

 private:
  std::shared_ptr<impl> impl_;
};

class client {
 public:
  // Fails with errc::tls_setup when the CA store or CA file cannot be loaded.
  static boost::system::result<client> create(client_options options);

  const client_options& options() const noexcept { return options_; }

  // Sends `req` and reads the response header; the body is read through the returned stream.
  // Redirects are not followed (callers that want them use resolve_url on Location).
  net::awaitable<boost::system::result<response_stream>> open(request req,
                                                              std::stop_token stop = {}) const;
  // open() + read_all().
  net::awaitable<boost::system::result<response>> fetch(request req, std::stop_token stop = {}) const;

 private:
  client(client_options options, std::shared_ptr<net::ssl::context> tls);
  client_options options_;
  std::shared_ptr<net::ssl::context> tls_;
};

}  // namespace parley::http
