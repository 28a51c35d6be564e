#pragma once
// Configuration from the environment: `.env` files (as the seed reads them) and duration values.
// Binaries load `.env` from the working directory into the process environment before parsing
// flags, so CLI11's envname() sees those values too; variables already set win over the file.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace parley {

struct dotenv_entry {
  std::string key;
  std::string value;
};

struct dotenv_error {
  int line = 0;  // 1-based
  std::string message;
};

// Parses .env text: `KEY=VALUE` lines, optional `export ` prefix, `#` comments (whole line, or
// after whitespace in an unquoted value), single quotes (literal) and double quotes (with \n, \t,
// \" and \\ escapes). Keys are [A-Za-z_][A-Za-z0-9_]*. The first malformed line is an error.
std::variant<std::vector<dotenv_entry>, dotenv_error> parse_dotenv(std::string_view text);

struct dotenv_load_result {
  int loaded = 0;     // variables set (absent file: 0)
  std::string error;  // non-empty: "FILE:LINE: what is wrong"; nothing was set
};
// Loads `path` into the environment (setenv without overwriting) when the file exists.
dotenv_load_result load_dotenv(const std::filesystem::path& path);

// The longest duration parse_duration accepts: 100 years (876000h), so that a deadline computed
// from it (now + duration, in any clock's nanoseconds) cannot overflow.
inline constexpr std::chrono::hours max_duration{24 * 365 * 100};

// "250ms", "30s", "5m", "2h", "30d", or a bare number in `bare_unit` (positive). Negative, empty, longer
// than max_duration or with an unknown unit: nullopt.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds bare_unit);
// The shortest exact text for a duration ("1500ms", "30s", "5m", "2h", "30d").
std::string format_duration(std::chrono::milliseconds d);

}  // namespace parley
