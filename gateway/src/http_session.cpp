#include <parley/gateway/conversation_routes.hpp>
#include <parley/gateway/errors.hpp>
#include <parley/gateway/http_routes.hpp>
#include <parley/gateway/http_session.hpp>
#include <parley/gateway/ws_session.hpp>
#include <parley/token.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <tuple>

namespace parley::gateway {

namespace json = boost::json;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Either a response to write (then the connection closes), or the WebSocket was taken over.
struct upgrade_outcome {
  std::optional<http::response<http::string_body>> refusal;
};

// RFC 6455 4.1: the key is 16 random bytes in base64, so exactly 24 characters ending "==".
bool valid_websocket_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22))
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
  return true;
}

net::awaitable<upgrade_outcome> try_upgrade(context& ctx, beast::tcp_stream& stream, request& req,
                                            connection_limiter::lease& lease) {
  auto refuse = [&](http::status st, json::value detail) {
    return upgrade_outcome{error_response(st, detail, req.version(), false)};
  };
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) co_return refuse(http::status::bad_request, error_text::malformed_target);
  const boost::urls::url_view u = *parsed;
  if (u.path() != "/chat") co_return refuse(http::status::not_found, error_text::not_found);
  // Checked here rather than left to Beast, whose refusals are plain text: every refusal of the
  // gateway is the documented JSON.
  if (req[http::field::sec_websocket_version] != "13") {
    auto out = refuse(http::status::upgrade_required,
                      json::object{{"loc", "Sec-WebSocket-Version"}, {"msg", "Only WebSocket version 13 is supported"}});
    out.refusal->set(http::field::sec_websocket_version, "13");
    co_return out;
  }
  if (req.count(http::field::sec_websocket_key) != 1 || !valid_websocket_key(req[http::field::sec_websocket_key]))
    co_return refuse(http::status::bad_request,
                     json::object{{"loc", "Sec-WebSocket-Key"}, {"msg", "Expected 16 random bytes in base64"}});
  if (ctx.shutting_down) co_return refuse(http::status::service_unavailable, error_text::shutting_down);
  if (!ctx.origins.allows(req[http::field::origin], req[http::field::host]))
    co_return refuse(http::status::forbidden, error_text::origin_not_allowed);
  auto token_it = u.params().find("token");
  const std::string token = token_it == u.params().end() ? std::string() : std::string((*token_it).value);
  if (!is_token(token)) co_return refuse(http::status::forbidden, error_text::session_gone);
  std::optional<protocol::stream_id> last;
  if (auto it = u.params().find("last_event_id"); it != u.params().end()) {
    last = protocol::stream_id::parse((*it).value);
    if (!last)
      co_return refuse(http::status::bad_request,
                       json::object{{"loc", "last_event_id"}, {"msg", "Expected a stream id like 1700000000000-0"}});
  }
  // A person's conversation is reached only with its owner's user token (`user=`; browsers cannot
  // set Authorization on a WebSocket): an unknown person is 401, a conversation that is gone or
  // not theirs 404, as on the HTTP API. Without `user=` it is a seed session, and a conversation
  // of a person is as unknown as any other token (403).
  std::string owner;
  if (auto it = u.params().find("user"); it != u.params().end()) {
    owner = std::string((*it).value);
    auto known = is_token(owner) ? co_await ctx.conversations.touch_user(owner) : make_error_code(errc::user_not_found);
    if (known == errc::user_not_found) co_return refuse(http::status::unauthorized, conversation_text::unknown_user);
    if (known) co_return upgrade_outcome{storage_error_response(known, http::status::not_found, req.version(), false)};
  }
  auto snap = co_await ctx.store.load(token, false, owner);
  if (!snap && !owner.empty() && snap.error() == errc::session_not_found)
    co_return refuse(http::status::not_found, conversation_text::not_found);
  if (!snap) co_return upgrade_outcome{storage_error_response(snap.error(), http::status::forbidden, req.version(), false)};
  auto ws = std::make_shared<ws_session>(std::move(stream), ctx, std::move(*snap), last, std::move(lease));
  auto ex = ws->executor();
  net::co_spawn(ex, ws_session::run(std::move(ws), std::make_unique<request>(std::move(req))), net::detached);
  co_return upgrade_outcome{};
}

// Cancels (does not close) the socket's pending operations when it expires, so the session can
// still answer 408. Everything runs on the socket's strand; the shared state lets an expiry that
// was already queued when the deadline was destroyed see that and do nothing.
class head_deadline {
 public:
  head_deadline(net::ip::tcp::socket& socket, std::chrono::milliseconds after)
      : state_(std::make_shared<state>(socket)) {
    state_->timer.expires_after(after);
    state_->timer.async_wait([st = state_](boost::system::error_code ec) {
      if (ec || !st->socket) return;
      st->fired = true;
      boost::system::error_code ignored;
      st->socket->cancel(ignored);
    });
  }
  ~head_deadline() {
    state_->socket = nullptr;
    state_->timer.cancel();
  }
  head_deadline(const head_deadline&) = delete;
  head_deadline& operator=(const head_deadline&) = delete;
  bool fired() const noexcept { return state_->fired; }

 private:
  struct state {
    explicit state(net::ip::tcp::socket& s) : socket(&s), timer(s.get_executor()) {}
    net::ip::tcp::socket* socket;
    net::steady_timer timer;
    bool fired = false;
  };
  std::shared_ptr<state> state_;
};

// After an error answer: stop sending, then read and drop what the client still sends, for at
// most lingering_time, so that a client that writes its whole request before reading gets the
// answer rather than a connection reset (closing with unread input sends RST).
net::awaitable<void> lingering_close(const gateway_config& cfg, beast::tcp_stream& stream, beast::flat_buffer& buffer) {
  beast::error_code ec;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ec);
  buffer.clear();
  if (ec || cfg.lingering_time.count() == 0) co_return;
  stream.expires_after(cfg.lingering_time);
  std::array<char, 16 * 1024> sink;
  while (true) {
    auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
    if (rec) break;
  }
}

// The answer to a request head that could not be read, or nullopt for a plain end of the
// connection (closed, reset, or silent until the deadline).
std::optional<http::response<http::string_body>> read_error_response(const gateway_config& cfg,
                                                                     boost::system::error_code ec, bool head_expired,
                                                                     bool got_some) {
  if (head_expired) {
    if (!got_some) return std::nullopt;
    return error_response(http::status::request_timeout,
                          json::string("Request head not received within " +
                                       std::to_string(cfg.http_header_timeout.count()) + " ms"),
                          11, false);
  }
  if (ec == http::error::header_limit)
    return error_response(http::status::request_header_fields_too_large, error_text::header_too_large, 11, false);
  if (ec == http::error::body_limit)
    return error_response(http::status::payload_too_large,
                          json::string(error_text::body_too_large(cfg.max_body_bytes)), 11,
                          false);
  if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted)
    return std::nullopt;
  return error_response(http::status::bad_request, error_text::malformed_request, 11, false);
}

}  // namespace

net::awaitable<void> run_http_session(context& ctx, beast::tcp_stream stream, connection_limiter::lease lease) {
  const auto& cfg = ctx.cfg;
  const auto head_timeout = std::min(cfg.http_header_timeout, cfg.http_timeout);
  beast::flat_buffer buffer;
  bool first = true;
  // Set when the connection ends with an error answer: the rest of the input is drained.
  bool linger = false;
  while (true) {
    // Keep-alive: the next request may take http_timeout to begin; its head then has
    // head_timeout. A new connection has head_timeout for its first head, from the accept.
    if (!first && buffer.size() == 0) {
      stream.expires_after(cfg.http_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
      if (ec) break;
      buffer.commit(n);
    }
    first = false;
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    parser.body_limit(cfg.max_body_bytes);
    boost::system::error_code ec;
    {
      head_deadline deadline(stream.socket(), head_timeout);
      stream.expires_never();
      std::size_t n = 0;
      std::tie(ec, n) = co_await http::async_read_header(stream, buffer, parser, use_tuple);
      // RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in 1.0.
      if (!ec) {
        const auto hosts = parser.get().count(http::field::host);
        if (hosts > 1 || (hosts == 0 && parser.get().version() >= 11)) ec = http::error::bad_field;
      }
      if (ec) {
        auto res = read_error_response(cfg, ec, deadline.fired(), parser.got_some());
        if (res) {
          ctx.metrics.http_response(res->result_int());
          stream.expires_after(cfg.http_timeout);
          co_await http::async_write(stream, *res, use_tuple);
          linger = true;
        }
        break;
      }
    }
    stream.expires_after(cfg.http_timeout);
    {
      auto [bec, bn] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (bec) {
        if (auto res = read_error_response(cfg, bec, false, true)) {
          ctx.metrics.http_response(res->result_int());
          stream.expires_after(cfg.http_timeout);
          co_await http::async_write(stream, *res, use_tuple);
          linger = true;
        }
        break;
      }
    }
    request req = parser.release();
    if (websocket::is_upgrade(req)) {
      auto out = co_await try_upgrade(ctx, stream, req, lease);
      if (!out.refusal) co_return;
      ctx.metrics.http_response(out.refusal->result_int());
      stream.expires_after(cfg.http_timeout);
      co_await http::async_write(stream, *out.refusal, use_tuple);
      break;
    }
    auto msg = co_await handle_http(ctx, std::move(req));
    const bool again = msg.keep_alive() && !ctx.shutting_down;
    stream.expires_after(cfg.http_timeout);
    auto [wec, wn] = co_await beast::async_write(stream, std::move(msg), use_tuple);
    if (wec || !again) break;
  }
  if (linger) {
    co_await lingering_close(cfg, stream, buffer);
  } else {
    beast::error_code ignored;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  }
}

void refuse_connection(context& ctx, net::ip::tcp::socket socket, http::status status, std::string_view detail) {
  // Answered before anything is read, and not kept open for a lingering close: a refused
  // connection must cost as little as possible, or refusing would not protect anyone.
  struct refusal {
    beast::tcp_stream stream;
    http::response<http::string_body> res;
  };
  auto r = std::make_shared<refusal>(refusal{beast::tcp_stream(std::move(socket)),
                                             error_response(status, json::string(detail), 11, false)});
  if (status == http::status::too_many_requests || status == http::status::service_unavailable)
    r->res.set(http::field::retry_after, "5");
  ctx.metrics.http_response(r->res.result_int());
  r->stream.expires_after(ctx.cfg.refusal_write_timeout);
  http::async_write(r->stream, r->res, [r](beast::error_code, std::size_t) {
    beast::error_code ignored;
    r->stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    r->stream.close();
  });
}

}  // namespace parley::gateway
