// Names, ids and message texts (parley::validate_name, validate_id, validate_message_text,
// utf8_length). Properties: utf8_length accepts exactly what Boost.JSON's UTF-8 validation
// accepts and counts the bytes that start a code point; an accepted name is trimmed, 1..64 code
// points, without control characters; an accepted id is 1..max code points without control
// characters; an accepted message is 1..max code points with no control characters but tab and
// newline.
#include "check.hpp"

#include <parley/validation.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <string>

using parley::fuzz::has_control;
using parley::fuzz::require;

namespace {

// The text as a JSON string literal: Boost.JSON then judges its UTF-8 independently of Parley.
std::string json_literal(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::size_t lead_bytes(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::system::error_code ec;
  boost::json::parse(json_literal(text), ec);
  const auto length = parley::utf8_length(text);
  require(length.has_value() == !ec, "utf8_length accepts exactly valid UTF-8");
  if (length) require(*length == lead_bytes(text), "utf8_length counts code points");

  if (auto name = parley::validate_name(text)) {
    require(!name->empty() && !space(name->front()) && !space(name->back()), "a name is trimmed");
    require(text.find(*name) != std::string_view::npos, "a name is the text, trimmed");
    const auto n = parley::utf8_length(*name);
    require(n && *n >= 1 && *n <= parley::max_name_chars, "a name is 1..64 code points");
    require(!has_control(*name, ""), "a name has no control characters");
  }

  if (!parley::validate_id(text, parley::max_name_chars)) {
    require(length && *length >= 1 && *length <= parley::max_name_chars, "an id is 1..max code points");
    require(!has_control(text, ""), "an id has no control characters");
  }

  constexpr std::size_t max_chars = 100;
  if (!parley::validate_message_text(text, max_chars)) {
    require(length && *length >= 1 && *length <= max_chars, "a message is 1..max code points");
    require(!has_control(text, "\t\n"), "a message has no control characters but tab and newline");
  }
  return 0;
}
