#pragma once
// Gateway domain errors (storage side). The HTTP and WebSocket boundaries map them to statuses
// and error frames; nothing else turns them into text for clients.
#include <boost/system/error_code.hpp>

namespace parley::gateway {

enum class errc {
  session_not_found = 1,  // the token names no live session
  unavailable,            // Redis unreachable, timed out or shutting down
  bad_reply,              // Redis answered something the gateway does not understand
  user_not_found,         // the user token names no live person
  too_many_conversations, // the person holds max_conversations conversations
};

const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// Maps a Redis client transport error to the gateway's view of it.
boost::system::error_code from_redis(boost::system::error_code ec) noexcept;

}  // namespace parley::gateway

template <>
struct boost::system::is_error_code_enum<parley::gateway::errc> : std::true_type {};
