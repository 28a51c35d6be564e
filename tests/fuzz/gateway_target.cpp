// The gateway's request targets (parley::gateway::parse_request_target) and what it does with
// the parameters: last_event_id as a stream id, token as a session token.
// Properties: an accepted target has a path starting with '/'; each parameter percent-encoded
// into a new target reads back unchanged; a last_event_id that parses prints back to an id that
// parses the same; an accepted token is 36 characters.
#include "check.hpp"

#include <parley/gateway/request_target.hpp>
#include <parley/protocol.hpp>
#include <parley/token.hpp>

#include <cstdint>
#include <string>

using parley::fuzz::require;
using parley::gateway::parse_request_target;

namespace {

std::string encoded(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = parse_request_target(text);
  if (!t) return 0;
  require(!t->path.empty() && t->path.front() == '/', "the path starts with /");

  std::string rebuilt = "/x?";
  if (t->token) rebuilt += "token=" + encoded(*t->token) + "&";
  if (t->name) rebuilt += "name=" + encoded(*t->name) + "&";
  if (t->last_event_id) rebuilt += "last_event_id=" + encoded(*t->last_event_id);
  auto again = parse_request_target(rebuilt);
  require(again.has_value(), "a target of encoded parameters parses");
  require(again->token == t->token && again->name == t->name && again->last_event_id == t->last_event_id,
          "encoded parameters read back unchanged");

  if (t->last_event_id) {
    if (auto id = parley::protocol::stream_id::parse(*t->last_event_id)) {
      auto back = parley::protocol::stream_id::parse(id->str());
      require(back && *back == *id, "a last_event_id prints back to the same stream id");
    }
  }
  if (t->token && parley::is_token(*t->token)) require(t->token->size() == 36, "a token is 36 characters");
  return 0;
}
