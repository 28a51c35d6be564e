#include <parley/test/chat.hpp>
#include <parley/test/http_client.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <utility>

namespace parley::test {

namespace json = boost::json;

std::string json_str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string new_session(std::uint16_t port, const std::string& name) {
  auto r = http_request({.port = port, .method = "POST", .target = "/token?name=" + name});
  if (!r.ok || r.status != 200)
    throw std::runtime_error("POST /token: " + (r.ok ? std::to_string(r.status) + " " + r.body : r.error));
  return json_str(json::parse(r.body).as_object(), "token");
}

json::object connect_chat(ws_client& ws, std::uint16_t port, const std::string& token,
                          const std::string& last_event_id, std::chrono::milliseconds timeout) {
  std::string target = "/chat?token=" + token;
  if (!last_event_id.empty()) target += "&last_event_id=" + last_event_id;
  if (!ws.connect({.port = port, .target = target, .timeout = timeout}))
    throw std::runtime_error("WebSocket upgrade refused: HTTP " + std::to_string(ws.handshake_status()) + " " +
                             ws.handshake_body());
  return ws.read_json_type("ready", timeout);
}

std::string send_message(ws_client& ws, const std::string& text, frame_list* seen, const std::string& client_id,
                         std::chrono::milliseconds timeout) {
  json::object m{{"type", "message"}, {"text", text}};
  if (!client_id.empty()) m["client_id"] = client_id;
  if (!ws.send_text(json::serialize(m))) throw std::runtime_error("the message could not be sent");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no ack within the timeout");
    auto f = ws.read_json(left);
    const auto type = json_str(f, "type");
    if (type == "ack") return json_str(f, "id");
    if (type == "error" && json_str(f, "reply_to").empty())
      throw std::runtime_error("the message was refused: " + json::serialize(f));
    if (seen) seen->push_back(std::move(f));
  }
}

bool read_until(ws_client& ws, frame_list& frames, const std::function<bool(const frame_list&)>& done,
                std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!done(frames)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    auto ev = ws.next(left);
    if (!ev || ev->type != ws_event::kind::text) return false;
    frames.push_back(json::parse(ev->data).as_object());
  }
  return true;
}

std::function<bool(const frame_list&)> has_frame(const std::string& type, const std::string& reply_to, int count) {
  return [=](const frame_list& frames) {
    int n = 0;
    for (const auto& f : frames)
      n += json_str(f, "type") == type && (reply_to.empty() || json_str(f, "reply_to") == reply_to);
    return n >= count;
  };
}

const json::object* find_frame(const frame_list& frames, const std::string& type, const std::string& reply_to) {
  for (const auto& f : frames)
    if (json_str(f, "type") == type && json_str(f, "reply_to") == reply_to) return &f;
  return nullptr;
}

std::string assembled_reply(const frame_list& frames, const std::string& reply_to) {
  std::string text;
  for (const auto& f : frames) {
    if (json_str(f, "reply_to") != reply_to) continue;
    if (json_str(f, "type") == "reply_discard") text.clear();
    if (json_str(f, "type") == "delta") text += json_str(f, "text");
  }
  return text;
}

std::vector<std::string> event_ids(const frame_list& frames) {
  std::vector<std::string> ids;
  for (const auto& f : frames)
    if (json_str(f, "type") != "ack" && !json_str(f, "id").empty()) ids.push_back(json_str(f, "id"));
  return ids;
}

std::string last_event_id(const frame_list& frames) {
  const auto ids = event_ids(frames);
  return ids.empty() ? std::string() : ids.back();
}

namespace {
// "MS-SEQ" as numbers; nullopt for anything else.
std::optional<std::pair<std::uint64_t, std::uint64_t>> stream_id_of(const std::string& id) {
  const auto dash = id.find('-');
  if (dash == std::string::npos) return std::nullopt;
  std::uint64_t ms = 0, seq = 0;
  const auto* end = id.data() + id.size();
  auto [p1, e1] = std::from_chars(id.data(), id.data() + dash, ms);
  auto [p2, e2] = std::from_chars(id.data() + dash + 1, end, seq);
  if (e1 != std::errc{} || p1 != id.data() + dash || e2 != std::errc{} || p2 != end) return std::nullopt;
  return std::pair{ms, seq};
}
}  // namespace

bool event_ids_increase(const frame_list& frames) {
  const auto ids = event_ids(frames);
  for (std::size_t i = 1; i < ids.size(); ++i) {
    const auto a = stream_id_of(ids[i - 1]);
    const auto b = stream_id_of(ids[i]);
    if (!a || !b || !(*a < *b)) return false;
  }
  return true;
}

json::array history(std::uint16_t port, const std::string& token) {
  auto r = http_request({.port = port, .target = "/refresh_token?token=" + token});
  if (!r.ok || r.status != 200)
    throw std::runtime_error("GET /refresh_token: " + (r.ok ? std::to_string(r.status) + " " + r.body : r.error));
  return json::parse(r.body).as_object().at("messages").as_array();
}

int bot_replies_to(const json::array& messages, const std::string& id) {
  int n = 0;
  for (const auto& m : messages)
    n += json_str(m.as_object(), "source") == "bot" && json_str(m.as_object(), "reply_to") == id;
  return n;
}

}  // namespace parley::test
