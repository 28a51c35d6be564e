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
#include <spdlog/spdlog.h>

namespace parley::gateway {

namespace json = boost::json;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Either a response to write (then the connection closes), or the WebSocket was taken over.
struct upgrade_outcome {
  std::optional<http::response<http::string_body>> refusal;
};

net::awaitable<upgrade_outcome> try_upgrade(context& ctx, beast::tcp_stream& stream, request& req,
                                            connection_limiter::lease& lease) {
  auto refuse = [&](http::status st, json::value detail) {
    return upgrade_outcome{error_response(st, detail, req.version(), false)};
  };
  auto parsed = boost::urls::parse_origin_form(req.target());
  if (!parsed) co_return refuse(http::status::bad_request, error_text::malformed_target);
  const boost::urls::url_view u = *parsed;
  if (u.path() != "/chat") co_return refuse(http::status::not_found, error_text::not_found);
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
  auto snap = co_await ctx.store.load(token, false);
  if (!snap) co_return upgrade_outcome{storage_error_response(snap.error(), http::status::forbidden, req.version(), false)};
  auto ws = std::make_shared<ws_session>(std::move(stream), ctx, std::move(*snap), last, std::move(lease));
  auto ex = ws->executor();
  net::co_spawn(ex, ws_session::run(std::move(ws), std::make_unique<request>(std::move(req))), net::detached);
  co_return upgrade_outcome{};
}

}  // namespace

net::awaitable<void> run_http_session(context& ctx, beast::tcp_stream stream, connection_limiter::lease lease) {
  const auto& cfg = ctx.cfg;
  beast::flat_buffer buffer;
  while (true) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    parser.body_limit(cfg.max_body_bytes);
    stream.expires_after(cfg.http_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (ec) {
      std::optional<http::response<http::string_body>> res;
      if (ec == http::error::header_limit) {
        res = error_response(http::status::request_header_fields_too_large, error_text::header_too_large, 11, false);
      } else if (ec == http::error::body_limit) {
        res = error_response(http::status::payload_too_large,
                             json::string(error_text::body_too_large(cfg.max_body_bytes)), 11,
                             false);
      } else if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != net::error::eof &&
                 ec != net::error::connection_reset && ec != net::error::operation_aborted) {
        res = error_response(http::status::bad_request, error_text::malformed_request, 11, false);
      }
      if (res) {
        ctx.metrics.http_response(res->result_int());
        stream.expires_after(cfg.http_timeout);
        co_await http::async_write(stream, *res, use_tuple);
      }
      break;
    }
    request req = parser.release();
    if (!lease) {
      auto res = error_response(http::status::too_many_requests, error_text::too_many_connections,
                                req.version(), false);
      res.set(http::field::retry_after, "5");
      ctx.metrics.http_response(res.result_int());
      stream.expires_after(cfg.http_timeout);
      co_await http::async_write(stream, res, use_tuple);
      break;
    }
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
  beast::error_code ignored;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace parley::gateway
