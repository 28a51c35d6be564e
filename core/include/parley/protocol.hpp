#pragma once
// WebSocket frames between clients and the gateway (docs/protocol.md is the reference).
//
// Client -> server: a text frame whose first character other than JSON whitespace is `{` is a
// protocol frame, parsed strictly: it must be a JSON object, `type` must be a known string,
// required fields present with the right JSON type, and any other field is rejected by name.
// So a broken protocol frame (a trailing comma, a lone surrogate escape, a cut-off frame) is a
// `bad_frame` error, never chat text. Any other text frame (plain text, or JSON that is not an
// object, like "42") is a plain user message, as the seed client sends them.
//
// Server -> client: builders for the gateway's own frames, and helpers for the session events
// that workers and the gateway append to `parley:{T}:events` (forwarded with their `id`).
#include <parley/api_error.hpp>

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace parley::protocol {

inline constexpr std::size_t max_client_id_chars = 128;

struct message_frame {
  std::string text;
  std::string client_id;  // empty: the client attached none
};
struct stop_frame {
  std::string message_id;  // the user message whose reply should stop
};
struct ping_frame {};
// Message versions (docs/protocol.md, "Versions"): a new version of a message of the person
// (edit), of a reply (regenerate, continue), or which version the conversation shows (switch).
struct version_frame {
  enum class op { edit, regenerate, continue_reply, switch_version };
  op kind = op::regenerate;
  std::string message_id;
  std::string text;        // edit: the new text
  std::string client_id;   // edit, regenerate, continue: makes a resend idempotent ("" = none)
  long long version = 0;   // switch: 1-based
};

using client_frame = std::variant<message_frame, stop_frame, ping_frame, version_frame>;

struct frame_error {
  api_errc code = api_errc::bad_frame;
  std::optional<std::string> field;  // the offending field (nullopt when the frame as a whole is wrong)
  std::string message;  // human-readable, names the field
};

std::variant<client_frame, frame_error> parse_client_frame(std::string_view text);

// {"type":"ack","id":...,"duplicate":bool[,"seq":N][,"client_id":...]}; seq only for a new message.
std::string ack_frame(std::string_view id, std::optional<long long> seq, bool duplicate, std::string_view client_id);
// {"type":"error","code":...,"message":...[,"field":...][,"retry_after_ms":N][,"client_id":...]}
std::string error_frame(api_errc code, std::string_view message, std::optional<std::string_view> field = {},
                        std::optional<long long> retry_after_ms = {}, std::string_view client_id = {});
inline std::string error_frame(api_errc code) {
  return error_frame(code, make_error_code(code).message());
}
// {"type":"pong"}
std::string pong_frame();
// {"type":"ready","token":...,"name":...,"session_start":...,"last_event_id":...}
std::string ready_frame(std::string_view token, std::string_view name, std::string_view session_start,
                        std::string_view last_event_id);
// {"type":"waiting","reply_to":...,"ahead":N[,"more":true],"workers":W,"message":...}: where a
// message waiting for a worker stands, in words too ("3 messages ahead of you"; with no worker
// alive, that none is running and the message will be answered when one starts).
std::string waiting_frame(std::string_view reply_to, long long ahead, bool more, long long workers);
// {"type":"resync_required","message":...}
std::string resync_required_frame();

// A Redis stream entry id "MS-SEQ", ordered numerically.
struct stream_id {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  static std::optional<stream_id> parse(std::string_view text) noexcept;
  std::string str() const;
  auto operator<=>(const stream_id&) const = default;
};

// The JSON of a stored event (`e` field of a stream entry) with `id` set to the entry id (and,
// for `message` events, `message_id` too, as in the published form).
// nullopt when `event_json` is not a JSON object.
std::optional<std::string> event_with_id(std::string_view event_json, std::string_view id);
// The `id` of a published event, nullopt when missing or not a stream id.
std::optional<stream_id> event_id(std::string_view event_json);

}  // namespace parley::protocol
