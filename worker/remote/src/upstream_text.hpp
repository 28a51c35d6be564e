#pragma once
// Helpers for turning an upstream's error body into one short, safe log line.
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace parley::worker::remote {

inline constexpr std::size_t max_logged_upstream_chars = 300;

// Replaces every occurrence of `secret` in `text` with "[redacted]" (an upstream may echo the
// key back in an error message) and shortens the result for a log line.
std::string redact(std::string_view text, std::string_view secret);

// The human message of an error body: error.message (OpenAI shape), error (a string, Hugging
// Face shape), or the raw body.
std::string error_message(std::string_view body);

}  // namespace parley::worker::remote
