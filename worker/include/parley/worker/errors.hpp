#pragma once
// Domain errors of the worker's delivery logic.
#include <boost/system/error_code.hpp>

namespace parley::worker {

enum class errc {
  lease_lost = 1,    // another worker holds the session now; this one must stop writing
  session_missing,   // the session expired or was deleted before its turn ran
  message_missing,   // history has no human message with the seq to answer
  history_corrupt,   // a history entry is not the JSON the gateway writes
  unexpected_reply,  // Redis answered a script with a value of the wrong shape
  shutting_down,     // the worker is stopping; the turn is handed back
};

const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace parley::worker

template <>
struct boost::system::is_error_code_enum<parley::worker::errc> : std::true_type {};
