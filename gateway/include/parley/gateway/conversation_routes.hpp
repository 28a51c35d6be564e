#pragma once
// The HTTP API of people and their conversations, under /api/ (docs/protocol.md,
// "Conversations"): POST /api/users, GET|POST /api/conversations, GET|PATCH|DELETE
// /api/conversations/{token}. The person is named by `Authorization: Bearer USER`.
#include <parley/gateway/context.hpp>
#include <parley/gateway/http_routes.hpp>
#include <parley/gateway/request_target.hpp>

#include <boost/asio/awaitable.hpp>

#include <string_view>

namespace parley::gateway {

// True for every path this API answers (everything under /api/, unknown ones with 404).
bool is_conversation_api_path(std::string_view path);

// Answers one request on an /api/ path (not OPTIONS: handle_http answers preflights).
net::awaitable<http::response<http::string_body>> handle_conversation_api(context& ctx, const request& req,
                                                                          const request_target& target);

namespace conversation_text {
inline constexpr const char* unknown_user = "Unknown or missing user token";
inline constexpr const char* not_found = "Conversation not found";
}  // namespace conversation_text

}  // namespace parley::gateway
