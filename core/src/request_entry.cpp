#include <parley/request_entry.hpp>

#include <charconv>

namespace parley {

std::vector<std::string> encode_request(const request_entry_fields& r) {
  return {std::string(request_field::token), r.token,        std::string(request_field::seq),
          std::to_string(r.seq),             std::string(request_field::id), r.message_id};
}

std::optional<request_entry_fields> decode_request(const std::vector<std::pair<std::string_view, std::string_view>>& fields,
                                                   std::string* why) {
  auto fail = [&](std::string text) -> std::optional<request_entry_fields> {
    if (why) *why = std::move(text);
    return std::nullopt;
  };
  request_entry_fields out;
  bool has_token = false, has_seq = false, has_id = false;
  for (const auto& [name, value] : fields) {
    bool* seen = nullptr;
    if (name == request_field::token) {
      seen = &has_token;
      if (value.empty()) return fail("field 'token' is empty");
      out.token = std::string(value);
    } else if (name == request_field::seq) {
      seen = &has_seq;
      long long seq = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), seq);
      if (ec != std::errc{} || p != value.data() + value.size() || seq <= 0)
        return fail("field 'seq' is not a positive number");
      out.seq = seq;
    } else if (name == request_field::id) {
      seen = &has_id;
      out.message_id = std::string(value);
    } else {
      return fail("unknown field '" + std::string(name) + "'");
    }
    if (*seen) return fail("field '" + std::string(name) + "' appears twice");
    *seen = true;
  }
  if (!has_token) return fail("missing field 'token'");
  if (!has_seq) return fail("missing field 'seq'");
  if (!has_id) return fail("missing field 'id'");
  return out;
}

std::string_view token_of_notify_channel(std::string_view channel) noexcept {
  constexpr std::string_view prefix = "parley:{";
  constexpr std::string_view suffix = "}:notify";
  if (channel.size() <= prefix.size() + suffix.size() || !channel.starts_with(prefix) || !channel.ends_with(suffix))
    return {};
  return channel.substr(prefix.size(), channel.size() - prefix.size() - suffix.size());
}

}  // namespace parley
