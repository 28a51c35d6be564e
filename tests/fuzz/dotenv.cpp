// The .env parser (parley::parse_dotenv) and durations (parse_duration, format_duration).
// Properties: accepted keys are [A-Za-z_][A-Za-z0-9_]*; the entries written back as
// KEY="escaped value" lines parse to the same entries; an error names a line of the text; a
// parsed duration is not negative, formats to a text that parses to the same duration, and is
// small enough for any clock.
#include "check.hpp"

#include <parley/env.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using parley::fuzz::require;
using namespace std::chrono_literals;

namespace {

bool valid_key(std::string_view k) {
  if (k.empty() || !(std::isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  for (unsigned char c : k)
    if (!(std::isalnum(c) || c == '_')) return false;
  return true;
}

std::string double_quoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

void check_duration(std::string_view text, std::chrono::milliseconds bare_unit) {
  auto d = parley::parse_duration(text, bare_unit);
  if (!d) return;
  require(d->count() >= 0, "a duration is not negative");
  // Timers and clocks count nanoseconds in 64 bits: about 292 years.
  require(*d <= std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::nanoseconds::max()) / 2,
          "a duration fits a nanosecond clock");
  auto again = parley::parse_duration(parley::format_duration(*d), bare_unit);
  require(again == d, "format_duration(d) parses back to d");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parley::parse_dotenv(text);
  if (auto* e = std::get_if<parley::dotenv_error>(&parsed)) {
    int lines = 1;
    for (char c : text) lines += c == '\n';
    require(e->line >= 1 && e->line <= lines, "an error names a line of the text");
    require(!e->message.empty(), "an error says what is wrong");
  } else {
    const auto& entries = std::get<std::vector<parley::dotenv_entry>>(parsed);
    std::string written;
    for (const auto& e : entries) {
      require(valid_key(e.key), "keys are [A-Za-z_][A-Za-z0-9_]*");
      written += (written.size() % 2 ? "export " : "") + e.key + "=" + double_quoted(e.value) + "\n";
    }
    auto again = parley::parse_dotenv(written);
    auto* back = std::get_if<std::vector<parley::dotenv_entry>>(&again);
    require(back && back->size() == entries.size(), "written entries parse again");
    for (std::size_t i = 0; i < entries.size(); ++i)
      require((*back)[i].key == entries[i].key && (*back)[i].value == entries[i].value,
              "written entries parse to the same keys and values");
  }
  check_duration(text, 1s);
  check_duration(text, 1ms);
  return 0;
}
