#include <parley/http/client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <optional>
#include <variant>

namespace parley::http {

namespace bhttp = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

namespace {

constexpr auto tuple_awaitable = net::as_tuple(net::use_awaitable);
constexpr std::size_t read_chunk_bytes = 16 * 1024;

std::string base64(std::string_view in) {
  static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], table[v & 63]};
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {table[v >> 18], table[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {table[v >> 18], table[(v >> 12) & 63], table[(v >> 6) & 63], '='};
  }
  return out;
}

}  // namespace

// The connection state shared between the coroutine that uses it and a stop request, which
// reaches it through a weak_ptr posted to the same executor.
class response_stream::impl : public std::enable_shared_from_this<response_stream::impl> {
 public:
  using plain_stream = beast::tcp_stream;
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;

  impl(net::any_io_executor ex, client_options options)
      : executor_(ex), resolver_(ex), stream_(std::in_place_type<plain_stream>, ex),
        options_(std::move(options)) {
    parser_.body_limit(boost::none);
  }

  void watch(std::stop_token stop) {
    if (!stop.stop_possible()) return;
    if (stop.stop_requested()) {
      cancelled_ = true;
      return;
    }
    stop_cb_.emplace(std::move(stop), [weak = weak_from_this(), ex = executor_] {
      net::post(ex, [weak] {
        if (auto self = weak.lock()) self->close();
      });
    });
  }

  void close() {
    cancelled_ = true;
    resolver_.cancel();
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  beast::tcp_stream& lowest() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); }, stream_);
  }

  // Maps a transport error to what the caller should see: a stop request wins, Beast's timeout
  // is told apart by phase, and a short body is one clear condition whatever the transport said.
  error_code classify(error_code ec, bool connecting) const {
    if (cancelled_) return errc::cancelled;
    if (ec == beast::error::timeout) return connecting ? errc::connect_timeout : errc::read_timeout;
    if (ec == bhttp::error::partial_message || ec == bhttp::error::end_of_stream ||
        ec == net::error::eof || ec == net::error::connection_reset || ec == ssl::error::stream_truncated)
      return errc::connection_closed;
    return ec;
  }

  net::awaitable<error_code> connect(const url& target, const std::optional<url>& proxy,
                                     ssl::context* tls_ctx) {
    const url& hop = proxy ? *proxy : target;
    lowest().expires_after(options_.connect_timeout);
    auto [rec, endpoints] =
        co_await resolver_.async_resolve(hop.host, std::to_string(hop.port), tuple_awaitable);
    if (rec) co_return classify(rec, true);
    if (cancelled_) co_return errc::cancelled;
    auto [cec, ep] = co_await lowest().async_connect(endpoints, tuple_awaitable);
    if (cec) co_return classify(cec, true);
    // Requests and streamed reads are small writes answered at once: Nagle's algorithm would
    // hold a write back until the previous one is acknowledged, which the peer's delayed ACK
    // stretches to tens of milliseconds.
    error_code nodelay_ec;
    lowest().socket().set_option(tcp::no_delay(true), nodelay_ec);
    if (proxy && target.tls()) {
      if (auto ec = co_await tunnel(target, *proxy)) co_return ec;
    }
    if (target.tls()) {
      auto tcp_part = std::move(std::get<plain_stream>(stream_));
      auto& s = stream_.emplace<tls_stream>(std::move(tcp_part), *tls_ctx);
      SSL* handle = s.native_handle();
      boost::system::error_code not_ip;
      net::ip::make_address(target.host, not_ip);
      if (!not_ip) {
        if (options_.tls.verify_peer &&
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), target.host.c_str()) != 1)
          co_return errc::tls_setup;
      } else {
        // SNI is sent for names only (RFC 6066 forbids IP literals there).
        if (SSL_set_tlsext_host_name(handle, target.host.c_str()) != 1) co_return errc::tls_setup;
        if (options_.tls.verify_peer && SSL_set1_host(handle, target.host.c_str()) != 1)
          co_return errc::tls_setup;
      }
      auto [hec] = co_await s.async_handshake(ssl::stream_base::client, tuple_awaitable);
      if (hec) co_return classify(hec, true);
    }
    co_return error_code{};
  }

  net::awaitable<error_code> tunnel(const url& target, const url& proxy) {
    auto& s = std::get<plain_stream>(stream_);
    bhttp::request<bhttp::empty_body> req{bhttp::verb::connect, target.host.find(':') != std::string::npos
                                                                    ? "[" + target.host + "]:" + std::to_string(target.port)
                                                                    : target.host + ":" + std::to_string(target.port),
                                          11};
    req.set(bhttp::field::host, req.target());
    req.set(bhttp::field::user_agent, options_.user_agent);
    if (!proxy.userinfo.empty()) req.set(bhttp::field::proxy_authorization, "Basic " + base64(proxy.userinfo));
    auto [wec, wn] = co_await bhttp::async_write(s, req, tuple_awaitable);
    if (wec) co_return classify(wec, true);
    bhttp::response_parser<bhttp::empty_body> p;
    p.skip(true);  // a CONNECT response has no body; the bytes after the header belong to TLS
    beast::flat_buffer buf;
    auto [rec, rn] = co_await bhttp::async_read_header(s, buf, p, tuple_awaitable);
    if (rec) co_return classify(rec, true);
    if (p.get().result_int() / 100 != 2 || buf.size() != 0) co_return errc::proxy_failed;
    co_return error_code{};
  }

  net::awaitable<error_code> send(const url& target, const std::optional<url>& proxy, request& req) {
    // Through a plain-HTTP proxy the request line carries the absolute URL.
    bool absolute = proxy && !target.tls();
    bhttp::request<bhttp::string_body> msg{req.method, absolute ? target.str() : target.target, 11};
    msg.set(bhttp::field::host, target.authority());
    msg.set(bhttp::field::user_agent, options_.user_agent);
    for (auto& [k, v] : req.headers) msg.set(k, v);
    if (absolute && proxy && !proxy->userinfo.empty())
      msg.set(bhttp::field::proxy_authorization, "Basic " + base64(proxy->userinfo));
    msg.body() = std::move(req.body);
    if (!msg.body().empty() || req.method == bhttp::verb::post || req.method == bhttp::verb::put)
      msg.prepare_payload();
    lowest().expires_after(options_.read_timeout);
    auto [ec, n] = co_await std::visit(
        [&msg](auto& s) { return bhttp::async_write(s, msg, tuple_awaitable); }, stream_);
    if (ec) co_return classify(ec, false);
    lowest().expires_after(options_.read_timeout);
    auto [rec, rn] = co_await std::visit(
        [this](auto& s) { return bhttp::async_read_header(s, buffer_, parser_, tuple_awaitable); }, stream_);
    if (rec) co_return classify(rec, false);
    co_return error_code{};
  }

  net::awaitable<result<std::size_t>> read_some(std::span<char> out) {
    while (true) {
      if (cancelled_) co_return errc::cancelled;
      if (parser_.is_done()) co_return std::size_t{0};
      auto& body = parser_.get().body();
      body.data = out.data();
      body.size = out.size();
      lowest().expires_after(options_.read_timeout);
      auto [ec, n] = co_await std::visit(
          [this](auto& s) { return bhttp::async_read_some(s, buffer_, parser_, tuple_awaitable); }, stream_);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return classify(ec, false);
      std::size_t got = out.size() - parser_.get().body().size;
      if (got > 0) co_return got;
    }
  }

  net::awaitable<result<std::string>> read_all() {
    std::string body;
    char chunk[read_chunk_bytes];
    while (true) {
      auto n = co_await read_some(chunk);
      if (!n) co_return n.error();
      if (*n == 0) co_return body;
      if (body.size() + *n > options_.max_body_bytes) co_return errc::body_too_large;
      body.append(chunk, *n);
    }
  }

  net::any_io_executor executor_;
  tcp::resolver resolver_;
  std::variant<plain_stream, tls_stream> stream_;
  client_options options_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::buffer_body> parser_;
  bool cancelled_ = false;
  std::optional<std::stop_callback<std::function<void()>>> stop_cb_;
};

response_stream::response_stream(std::shared_ptr<impl> p) : impl_(std::move(p)) {}
response_stream::response_stream(response_stream&&) noexcept = default;
response_stream& response_stream::operator=(response_stream&&) noexcept = default;
response_stream::~response_stream() = default;

unsigned response_stream::status() const { return impl_->parser_.get().result_int(); }
const beast::http::fields& response_stream::headers() const { return impl_->parser_.get().base(); }
net::awaitable<result<std::size_t>> response_stream::read_some(std::span<char> out) {
  return impl_->read_some(out);
}
net::awaitable<result<std::string>> response_stream::read_all() { return impl_->read_all(); }
void response_stream::close() { impl_->close(); }

client::client(client_options options, std::shared_ptr<ssl::context> tls)
    : options_(std::move(options)), tls_(std::move(tls)) {}

result<client> client::create(client_options options) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (options.tls.verify_peer) {
    ctx->set_verify_mode(ssl::verify_peer, ec);
    if (ec) return errc::tls_setup;
    if (options.tls.system_ca) {
      ctx->set_default_verify_paths(ec);
      if (ec) return errc::tls_setup;
    }
    if (!options.tls.ca_file.empty()) {
      ctx->load_verify_file(options.tls.ca_file, ec);
      if (ec) return errc::tls_setup;
    }
  } else {
    ctx->set_verify_mode(ssl::verify_none, ec);
  }
  return client(std::move(options), std::move(ctx));
}

net::awaitable<result<response_stream>> client::open(request req, std::stop_token stop) const {
  auto target = parse_url(req.url);
  if (!target) co_return target.error();
  auto proxy = options_.proxy.for_target(*target);
  if (!proxy) co_return proxy.error();
  auto ex = co_await net::this_coro::executor;
  auto conn = std::make_shared<response_stream::impl>(ex, options_);
  conn->watch(std::move(stop));
  if (conn->cancelled_) co_return errc::cancelled;
  if (auto ec = co_await conn->connect(*target, *proxy, tls_.get())) co_return ec;
  if (auto ec = co_await conn->send(*target, *proxy, req)) co_return ec;
  co_return response_stream(std::move(conn));
}

net::awaitable<result<response>> client::fetch(request req, std::stop_token stop) const {
  auto stream = co_await open(std::move(req), std::move(stop));
  if (!stream) co_return stream.error();
  response out;
  out.status = stream->status();
  out.headers = stream->headers();
  auto body = co_await stream->read_all();
  if (!body) co_return body.error();
  out.body = std::move(*body);
  co_return out;
}

}  // namespace parley::http
