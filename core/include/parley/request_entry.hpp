#pragma once
// The one wire schema between gateway and workers: an entry of `parley:requests` says "session
// `token` has user message `seq` (id `message_id`) to answer", as the fields token, seq, id
// (docs/design.md). Both sides encode and decode it here, next to the key names in keys.hpp,
// and so do the tests that act as either side.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace parley {

struct request_entry_fields {
  std::string token;
  long long seq = 0;
  std::string message_id;
};

namespace request_field {
inline constexpr std::string_view token = "token";
inline constexpr std::string_view seq = "seq";
inline constexpr std::string_view id = "id";
}  // namespace request_field

// The field/value arguments of XADD, in order: token T seq N id M.
std::vector<std::string> encode_request(const request_entry_fields& r);

// Decodes the field/value pairs of one entry. Every field must be there once with a valid value
// (a non-empty token, a positive decimal seq) and no other field may be: otherwise nullopt, and
// `why` (when given) names the field.
std::optional<request_entry_fields> decode_request(const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                                                   std::string* why = nullptr);

// "parley:{T}:notify" -> "T" (keys::notify_channel's inverse); "" for any other channel.
std::string_view token_of_notify_channel(std::string_view channel) noexcept;

}  // namespace parley
