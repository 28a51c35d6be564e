#pragma once
// The parts of an HTTP request target ("/path?query", origin form) that the gateway routes on,
// percent-decoded. Other query parameters are ignored; of a repeated one the first counts.
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateway {

struct request_target {
  std::string path;
  std::optional<std::string> token;          // GET /refresh_token, WS /chat
  std::optional<std::string> name;           // POST /token
  std::optional<std::string> last_event_id;  // WS /chat; protocol::stream_id::parse judges it
  std::optional<std::string> user;           // WS /chat of a person's conversation
  std::optional<std::string> cursor;         // GET /api/conversations
  std::optional<std::string> limit;          // GET /api/conversations
};

// nullopt when `target` is not a valid origin-form target (the caller answers 400).
std::optional<request_target> parse_request_target(std::string_view target);

}  // namespace parley::gateway
