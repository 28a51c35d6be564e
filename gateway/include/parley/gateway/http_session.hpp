#pragma once
// One accepted TCP connection: reads HTTP/1.1 requests (keep-alive) with explicit limits and a
// deadline on each, answers them through handle_http, and hands a valid WebSocket upgrade on
// /chat over to a ws_session. The coroutine owns the stream until that hand-over.
#include <parley/gateway/connection_limiter.hpp>
#include <parley/gateway/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace parley::gateway {

// `lease` empty: the client's address is over its connection cap; the first request is answered
// 429 and the connection closed.
net::awaitable<void> run_http_session(context& ctx, boost::beast::tcp_stream stream, connection_limiter::lease lease);

}  // namespace parley::gateway
