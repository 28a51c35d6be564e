#pragma once
// The HTTP API and the static web client: one function per route, and the one boundary that maps
// domain errors to statuses and JSON bodies (docs/protocol.md, "HTTP API"). http_session.cpp,
// which refuses upgrades and unreadable requests itself, takes its statuses and words from here.
#include <parley/gateway/context.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message_generator.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <string>

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

// The body of POST /token and GET /refresh_token for a session (with `title` too when the session
// is a person's conversation): {token, name, session_start, messages, last_event_id[, title]}.
boost::json::object snapshot_json(const session_snapshot& s);

// A storage error (errors.hpp) as a response: `session_gone` (400 for the API, 403 for a WebSocket
// upgrade) when the session does not exist, 503 when Redis is unavailable, else 500.
http::response<http::string_body> storage_error_response(const boost::system::error_code& ec,
                                                         http::status session_gone, unsigned version,
                                                         bool keep_alive);

// The "detail" of each error response, as docs/protocol.md lists them (char arrays: json::value
// takes them as they are).
namespace error_text {
inline constexpr const char* malformed_target = "Malformed request target or query string";
inline constexpr const char* malformed_path = "Malformed request path";
inline constexpr const char* malformed_request = "Malformed HTTP request";
inline constexpr const char* header_too_large = "Request header fields too large";
inline constexpr const char* not_found = "Not Found";
inline constexpr const char* method_not_allowed = "Method Not Allowed";
inline constexpr const char* session_gone = "Session expired or does not exist";
inline constexpr const char* storage_unavailable = "Storage is unavailable; nothing was changed; try again shortly";
inline constexpr const char* internal = "internal server error";
inline constexpr const char* too_many_connections = "Too many connections from this address";
inline constexpr const char* too_many_connections_in_all = "Too many connections; try again shortly";
inline constexpr const char* origin_not_allowed = "Origin not allowed";
inline constexpr const char* shutting_down = "Server shutting down";
inline std::string body_too_large(std::size_t limit) { return "Request body over " + std::to_string(limit) + " bytes"; }
}  // namespace error_text

}  // namespace parley::gateway
