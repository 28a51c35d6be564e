#pragma once
// The error codes clients see: the `code` of WebSocket error frames and of HTTP error bodies.
// docs/protocol.md lists each with its meaning; `wire_name` is the exact text on the wire.
#include <boost/system/error_code.hpp>

#include <string_view>

namespace parley {

enum class api_errc {
  bad_frame = 1,         // JSON frame of the wrong shape: a field missing, of the wrong type, or unknown
  unknown_type,          // JSON frame whose `type` is not one the server knows
  binary_not_supported,  // a binary frame; frames are UTF-8 text
  empty_message,         // message text empty or only whitespace
  message_too_long,      // message text over max_message_chars
  invalid_text,          // message text with control characters
  rate_limited,          // per-session token bucket empty; retry_after_ms says when to retry
  busy,                  // the workers are too far behind; retry_after_ms says when to retry
  unavailable,           // Redis is unreachable; nothing was stored; retry later
  session_expired,       // the session no longer exists
  conversation_full,     // the conversation holds max_conversation_messages; nothing was stored
  message_not_found,     // edit/regenerate/continue/switch named a message this conversation does not have
  invalid_target,        // the named message cannot take that frame (e.g. regenerate a message of the person)
  reply_in_progress,     // a reply is queued or streaming; versions change only once it ended
  internal,              // an unexpected server fault; nothing was stored
};

const boost::system::error_category& api_category() noexcept;
inline boost::system::error_code make_error_code(api_errc e) noexcept {
  return {static_cast<int>(e), api_category()};
}
std::string_view wire_name(api_errc e) noexcept;

}  // namespace parley

template <>
struct boost::system::is_error_code_enum<parley::api_errc> : std::true_type {};
