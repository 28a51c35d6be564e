#pragma once
// The HTTP API and the static web client: one function per route, and the one boundary that maps
// domain errors to statuses and JSON bodies (docs/protocol.md, "HTTP API").
#include <parley/gateway/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>

namespace parley::gateway {

namespace beast = boost::beast;
namespace http = beast::http;

using request = http::request<http::string_body>;

// Answers one request that is not a WebSocket upgrade.
net::awaitable<http::message_generator> handle_http(context& ctx, request req);

// A JSON response with the API's headers (no-store, Server). `detail` goes under "detail".
http::response<http::string_body> json_response(http::status status, const boost::json::value& body,
                                                unsigned version, bool keep_alive);
http::response<http::string_body> error_response(http::status status, const boost::json::value& detail,
                                                 unsigned version, bool keep_alive);

}  // namespace parley::gateway
