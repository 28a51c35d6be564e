#pragma once
// One accepted TCP connection: reads HTTP/1.1 requests (keep-alive) with explicit limits and a
// deadline on each, answers them through handle_http, and hands a valid WebSocket upgrade on
// /chat over to a ws_session. The coroutine owns the stream until that hand-over.
#include <parley/gateway/connection_limiter.hpp>
#include <parley/gateway/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/status.hpp>

#include <string_view>

namespace parley::gateway {

// `lease` holds the connection's place under the per-address cap (listener.cpp acquires it).
net::awaitable<void> run_http_session(context& ctx, boost::beast::tcp_stream stream, connection_limiter::lease lease);

// Writes one error answer (429 or 503 with Retry-After) on a connection refused at accept, then
// closes it. Nothing is read from it.
void refuse_connection(context& ctx, net::ip::tcp::socket socket, boost::beast::http::status status,
                       std::string_view detail);

}  // namespace parley::gateway
