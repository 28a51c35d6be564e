#include <parley/api_error.hpp>

#include <string>

namespace parley {

namespace {

class api_category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.api"; }
  std::string message(int ev) const override {
    switch (static_cast<api_errc>(ev)) {
      case api_errc::bad_frame: return "the frame has a missing, mistyped or unknown field";
      case api_errc::unknown_type: return "unknown frame type";
      case api_errc::binary_not_supported: return "binary frames are not supported; send UTF-8 text";
      case api_errc::empty_message: return "the message is empty";
      case api_errc::message_too_long: return "the message is too long";
      case api_errc::invalid_text: return "the message contains control characters";
      case api_errc::rate_limited: return "too many messages; slow down";
      case api_errc::busy: return "the assistant is busy; try again shortly";
      case api_errc::unavailable: return "storage is unavailable; nothing was saved; try again shortly";
      case api_errc::session_expired: return "Session expired or does not exist";
      case api_errc::conversation_full: return "this conversation is full; start a new chat";
      case api_errc::message_not_found: return "this conversation has no message with that id";
      case api_errc::invalid_target: return "that message cannot be changed this way";
      case api_errc::reply_in_progress: return "a reply is being written; wait for it or stop it first";
      case api_errc::internal: return "internal server error";
    }
    return "unknown error";
  }
};

}  // namespace

const boost::system::error_category& api_category() noexcept {
  static const api_category_impl cat;
  return cat;
}

std::string_view wire_name(api_errc e) noexcept {
  switch (e) {
    case api_errc::bad_frame: return "bad_frame";
    case api_errc::unknown_type: return "unknown_type";
    case api_errc::binary_not_supported: return "binary_not_supported";
    case api_errc::empty_message: return "empty_message";
    case api_errc::message_too_long: return "message_too_long";
    case api_errc::invalid_text: return "invalid_text";
    case api_errc::rate_limited: return "rate_limited";
    case api_errc::busy: return "busy";
    case api_errc::unavailable: return "unavailable";
    case api_errc::session_expired: return "session_expired";
    case api_errc::conversation_full: return "conversation_full";
    case api_errc::message_not_found: return "message_not_found";
    case api_errc::invalid_target: return "invalid_target";
    case api_errc::reply_in_progress: return "reply_in_progress";
    case api_errc::internal: return "internal";
  }
  return "internal";
}

}  // namespace parley
