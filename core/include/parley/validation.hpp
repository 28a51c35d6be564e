#pragma once
// Validation of user-supplied text: display names and chat messages. Lengths count Unicode code
// points (what a person sees as characters), not bytes.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

enum class validation_errc {
  empty = 1,       // missing, empty or only whitespace
  too_long,        // more code points than allowed
  control_chars,   // a C0/C1 control character (names, ids: any; messages: any but \t \n)
  invalid_utf8,    // not well-formed UTF-8
};

const boost::system::error_category& validation_category() noexcept;
inline boost::system::error_code make_error_code(validation_errc e) noexcept {
  return {static_cast<int>(e), validation_category()};
}

// Number of code points, or nullopt when `s` is not well-formed UTF-8 (overlongs, surrogates and
// values above U+10FFFF are rejected).
std::optional<std::size_t> utf8_length(std::string_view s) noexcept;

inline constexpr std::size_t max_name_chars = 64;

// A display name: surrounding whitespace is trimmed; the result must be 1..max_name_chars code
// points with no control characters. Returns the trimmed name.
boost::system::result<std::string> validate_name(std::string_view name);

inline constexpr std::size_t max_title_chars = 80;

// A conversation title a person typed: trimmed like a name, 1..max_title_chars code points, no
// control characters. Returns the trimmed title.
boost::system::result<std::string> validate_title(std::string_view title);

// The title a conversation takes from its first message: runs of whitespace (newlines too) become
// one space, control characters go, and text over max_title_chars code points is cut to
// max_title_chars - 1 of them plus "…". `text` is a validated message (valid UTF-8).
std::string title_from_message(std::string_view text);

// A chat message: 1..max_chars code points after ignoring surrounding whitespace (blank is
// empty); tabs and newlines are allowed, other control characters (carriage returns too) are not.
// The text is kept as sent.
boost::system::error_code validate_message_text(std::string_view text, std::size_t max_chars);

// An identifier a client chose or echoes (client_id, a stop frame's message_id): 1..max_chars
// code points with no control characters, kept as sent (spaces count, nothing is trimmed).
boost::system::error_code validate_id(std::string_view id, std::size_t max_chars);

}  // namespace parley

template <>
struct boost::system::is_error_code_enum<parley::validation_errc> : std::true_type {};
