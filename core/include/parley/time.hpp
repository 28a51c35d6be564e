#pragma once
// ISO-8601 timestamps in UTC with millisecond precision, e.g. "2026-11-26T22:00:00.123Z": the
// form every stored message and session uses.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

std::string to_iso8601(std::chrono::system_clock::time_point tp);
inline std::string now_iso8601() { return to_iso8601(std::chrono::system_clock::now()); }
// Parses the form to_iso8601 writes (fraction optional, "Z" required); nullopt otherwise.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace parley
