#pragma once
// A chat as a browser holds it, for tests that drive gateways and workers end to end: create a
// session, connect (consuming `ready`), send a message (waiting for its `ack`), collect frames
// until a condition holds, and read back what a client shows and what the history stored.
#include <parley/test/ws_client.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::test {

using frame_list = std::vector<boost::json::object>;

// o[key] when it is a string, else "".
std::string json_str(const boost::json::object& o, std::string_view key);

// POST /token on a gateway; throws std::runtime_error unless it answers 200.
std::string new_session(std::uint16_t port, const std::string& name = "tester");

// Opens /chat (resuming after `last_event_id` when given) and returns the `ready` frame; throws
// std::runtime_error when the upgrade is refused or `ready` does not come.
boost::json::object connect_chat(ws_client& ws, std::uint16_t port, const std::string& token,
                                 const std::string& last_event_id = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Sends a `message` frame (with `client_id` when not empty) and returns the id of its `ack`;
// frames read before the ack are appended to `seen`. Throws when no ack comes (an error frame
// does not count as one).
std::string send_message(ws_client& ws, const std::string& text, frame_list* seen = nullptr,
                         const std::string& client_id = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Reads text frames into `frames` until `done(frames)` holds; false on timeout or close.
bool read_until(ws_client& ws, frame_list& frames, const std::function<bool(const frame_list&)>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(60));

// A `done` for read_until: at least `count` frames of `type`, for `reply_to` unless it is "".
std::function<bool(const frame_list&)> has_frame(const std::string& type, const std::string& reply_to = {},
                                                 int count = 1);

// The first frame of `type` for `reply_to`, nullptr when there is none.
const boost::json::object* find_frame(const frame_list& frames, const std::string& type, const std::string& reply_to);

// The text a client shows for `reply_to`: deltas appended, reset by reply_discard.
std::string assembled_reply(const frame_list& frames, const std::string& reply_to);

// Ids of the session events among `frames` (frames with an `id` other than `ack`), in order.
std::vector<std::string> event_ids(const frame_list& frames);

// The last of them ("" when none): where a client that lost its socket resumes from.
std::string last_event_id(const frame_list& frames);

// Whether the session events' ids increase strictly, compared as stream ids (numerically, part by
// part): no event twice and none out of order, across any number of connections.
bool event_ids_increase(const frame_list& frames);

// GET /refresh_token's `messages`; throws unless it answers 200.
boost::json::array history(std::uint16_t port, const std::string& token);

// Bot entries in `messages` that answer user message `id`.
int bot_replies_to(const boost::json::array& messages, const std::string& id);

}  // namespace parley::test
