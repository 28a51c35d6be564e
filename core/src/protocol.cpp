#include <parley/protocol.hpp>
#include <parley/validation.hpp>

#include <boost/json.hpp>

#include <charconv>

namespace parley::protocol {

namespace json = boost::json;

namespace {

frame_error field_error(std::string_view field, std::string message) {
  return {api_errc::bad_frame, std::string(field), std::move(message)};
}

// Rejects fields outside `allowed` by name.
std::optional<frame_error> only_fields(const json::object& obj, std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : obj) {
    bool ok = false;
    for (auto a : allowed) ok = ok || kv.key() == a;
    if (!ok) return field_error(kv.key(), "unknown field '" + std::string(kv.key()) + "'");
  }
  return std::nullopt;
}

// A required (or optional) string field; `out` untouched when absent and optional.
std::optional<frame_error> string_field(const json::object& obj, std::string_view name, bool required,
                                        std::string& out) {
  const auto* v = obj.if_contains(name);
  if (!v) {
    if (required) return field_error(name, "missing field '" + std::string(name) + "'");
    return std::nullopt;
  }
  if (!v->is_string()) return field_error(name, "field '" + std::string(name) + "' must be a string");
  out = std::string(v->as_string());
  return std::nullopt;
}

std::optional<frame_error> id_like(std::string_view name, const std::string& value) {
  const auto ec = validate_id(value, max_client_id_chars);
  if (!ec) return std::nullopt;
  const std::string field(name);
  if (ec == validation_errc::control_chars) return field_error(name, "field '" + field + "' contains control characters");
  if (ec == validation_errc::invalid_utf8) return field_error(name, "field '" + field + "' is not valid UTF-8");
  return field_error(name, "field '" + field + "' must be 1 to " + std::to_string(max_client_id_chars) + " characters");
}

}  // namespace

namespace {
// RFC 8259 whitespace, which may precede a JSON text.
bool opens_an_object(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && text[first] == '{';
}
}  // namespace

std::variant<client_frame, frame_error> parse_client_frame(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    if (opens_an_object(text))
      return frame_error{api_errc::bad_frame, std::nullopt,
                         "the frame starts with '{' but is not a JSON object (" + ec.message() +
                             "); to send text that starts with '{', use {\"type\": \"message\", \"text\": ...}"};
    return client_frame{message_frame{std::string(text), {}}};
  }
  const auto& obj = v.as_object();
  const auto* type = obj.if_contains("type");
  if (!type) return field_error("type", "missing field 'type'");
  if (!type->is_string()) return field_error("type", "field 'type' must be a string");
  const std::string_view t = type->as_string();

  if (t == "message") {
    if (auto e = only_fields(obj, {"type", "text", "client_id"})) return *e;
    message_frame m;
    if (auto e = string_field(obj, "text", true, m.text)) return *e;
    if (obj.contains("client_id")) {
      if (auto e = string_field(obj, "client_id", false, m.client_id)) return *e;
      if (auto e = id_like("client_id", m.client_id)) return *e;
    }
    return client_frame{std::move(m)};
  }
  if (t == "stop") {
    if (auto e = only_fields(obj, {"type", "message_id"})) return *e;
    stop_frame s;
    if (auto e = string_field(obj, "message_id", true, s.message_id)) return *e;
    if (!stream_id::parse(s.message_id))
      return field_error("message_id", "field 'message_id' must be a message id like 1700000000000-0");
    return client_frame{std::move(s)};
  }
  if (t == "edit" || t == "regenerate" || t == "continue" || t == "switch") {
    version_frame f;
    if (t == "edit") {
      f.kind = version_frame::op::edit;
      if (auto e = only_fields(obj, {"type", "message_id", "text", "client_id"})) return *e;
      if (auto e = string_field(obj, "text", true, f.text)) return *e;
    } else if (t == "switch") {
      f.kind = version_frame::op::switch_version;
      if (auto e = only_fields(obj, {"type", "message_id", "version"})) return *e;
      const auto* v = obj.if_contains("version");
      if (!v) return field_error("version", "missing field 'version'");
      if (!v->is_int64() || v->get_int64() < 1)
        return field_error("version", "field 'version' must be a whole number from 1");
      f.version = v->get_int64();
    } else {
      f.kind = t == "regenerate" ? version_frame::op::regenerate : version_frame::op::continue_reply;
      if (auto e = only_fields(obj, {"type", "message_id", "client_id"})) return *e;
    }
    if (auto e = string_field(obj, "message_id", true, f.message_id)) return *e;
    if (!stream_id::parse(f.message_id))
      return field_error("message_id", "field 'message_id' must be a message id like 1700000000000-0");
    if (obj.contains("client_id")) {
      if (auto e = string_field(obj, "client_id", false, f.client_id)) return *e;
      if (auto e = id_like("client_id", f.client_id)) return *e;
    }
    return client_frame{std::move(f)};
  }
  if (t == "ping") {
    if (auto e = only_fields(obj, {"type"})) return *e;
    return client_frame{ping_frame{}};
  }
  return frame_error{api_errc::unknown_type, "type", "unknown frame type '" + std::string(t) + "'"};
}

std::string ack_frame(std::string_view id, std::optional<long long> seq, bool duplicate, std::string_view client_id) {
  json::object o;
  o["type"] = "ack";
  o["id"] = id;
  o["duplicate"] = duplicate;
  if (seq) o["seq"] = *seq;
  if (!client_id.empty()) o["client_id"] = client_id;
  return json::serialize(o);
}

std::string error_frame(api_errc code, std::string_view message, std::optional<std::string_view> field,
                        std::optional<long long> retry_after_ms, std::string_view client_id) {
  json::object o;
  o["type"] = "error";
  o["code"] = wire_name(code);
  o["message"] = message;
  if (field) o["field"] = *field;
  if (retry_after_ms) o["retry_after_ms"] = *retry_after_ms;
  if (!client_id.empty()) o["client_id"] = client_id;
  return json::serialize(o);
}

std::string pong_frame() { return R"({"type":"pong"})"; }

std::string ready_frame(std::string_view token, std::string_view name, std::string_view session_start,
                        std::string_view last_event_id) {
  json::object o;
  o["type"] = "ready";
  o["token"] = token;
  o["name"] = name;
  o["session_start"] = session_start;
  o["last_event_id"] = last_event_id;
  return json::serialize(o);
}

std::string waiting_frame(std::string_view reply_to, long long ahead, bool more, long long workers) {
  json::object o;
  o["type"] = "waiting";
  o["reply_to"] = reply_to;
  o["ahead"] = ahead;
  if (more) o["more"] = true;
  o["workers"] = workers;
  if (workers == 0) {
    o["message"] = "No model is running right now. Your message is saved and will be answered when one starts.";
  } else if (ahead == 0) {
    o["message"] = "You are next";
  } else {
    o["message"] = std::to_string(ahead) + (more ? "+" : "") + (ahead == 1 && !more ? " message" : " messages") +
                   " ahead of you";
  }
  return json::serialize(o);
}

std::string resync_required_frame() {
  return R"({"type":"resync_required","message":"events since last_event_id are no longer kept; reload the history with GET /refresh_token"})";
}

std::optional<stream_id> stream_id::parse(std::string_view text) noexcept {
  const auto dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == text.size()) return std::nullopt;
  stream_id id;
  auto r1 = std::from_chars(text.data(), text.data() + dash, id.ms);
  if (r1.ec != std::errc{} || r1.ptr != text.data() + dash) return std::nullopt;
  auto r2 = std::from_chars(text.data() + dash + 1, text.data() + text.size(), id.seq);
  if (r2.ec != std::errc{} || r2.ptr != text.data() + text.size()) return std::nullopt;
  return id;
}

std::string stream_id::str() const { return std::to_string(ms) + "-" + std::to_string(seq); }

std::optional<std::string> event_with_id(std::string_view event_json, std::string_view id) {
  boost::system::error_code ec;
  json::value v = json::parse(event_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto& o = v.as_object();
  o["id"] = id;
  // A `message` event's id is also the message id; live events carry it as `message_id` too.
  if (auto* t = o.if_contains("type"); t && t->is_string() && t->as_string() == "message" && !o.contains("message_id"))
    o["message_id"] = id;
  return json::serialize(v);
}

std::optional<stream_id> event_id(std::string_view event_json) {
  boost::system::error_code ec;
  json::value v = json::parse(event_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* id = v.as_object().if_contains("id");
  if (!id || !id->is_string()) return std::nullopt;
  return stream_id::parse(id->as_string());
}

}  // namespace parley::protocol
