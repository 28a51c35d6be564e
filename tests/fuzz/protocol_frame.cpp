// WebSocket client frames (parley::protocol::parse_client_frame) and the event/stream-id helpers.
// Properties: a non-object text is a message with exactly that text; an accepted frame serialized
// again parses to the same frame; ids are 1..128 code points without control characters; an
// error names its field; a message the gateway accepts has no control characters but tab and
// newline; stream ids and event ids round-trip.
#include "check.hpp"

#include <parley/protocol.hpp>
#include <parley/validation.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <variant>

namespace json = boost::json;
namespace p = parley::protocol;
using parley::fuzz::has_control;
using parley::fuzz::require;

namespace {

std::string serialize(const p::client_frame& f) {
  json::object o;
  if (auto* m = std::get_if<p::message_frame>(&f)) {
    o["type"] = "message";
    o["text"] = m->text;
    if (!m->client_id.empty()) o["client_id"] = m->client_id;
  } else if (auto* s = std::get_if<p::stop_frame>(&f)) {
    o["type"] = "stop";
    o["message_id"] = s->message_id;
  } else {
    o["type"] = "ping";
  }
  return json::serialize(o);
}

bool same(const p::client_frame& a, const p::client_frame& b) {
  if (a.index() != b.index()) return false;
  if (auto* m = std::get_if<p::message_frame>(&a)) {
    auto& n = std::get<p::message_frame>(b);
    return m->text == n.text && m->client_id == n.client_id;
  }
  if (auto* s = std::get_if<p::stop_frame>(&a)) return s->message_id == std::get<p::stop_frame>(b).message_id;
  return true;
}

void check_id(const std::string& id) {
  const auto n = parley::utf8_length(id);
  require(n && *n >= 1 && *n <= p::max_client_id_chars, "an accepted id is 1..128 code points");
  require(!has_control(id, ""), "an accepted id has no control characters");
}

bool canonical_number(std::string_view n) { return n == "0" || (!n.empty() && n[0] != '0'); }

void check_stream_id(std::string_view text) {
  auto id = p::stream_id::parse(text);
  if (!id) return;
  const auto back = p::stream_id::parse(id->str());
  require(back && *back == *id, "stream_id::parse(id.str()) == id");
  const auto dash = text.find('-');
  if (canonical_number(text.substr(0, dash)) && canonical_number(text.substr(dash + 1)))
    require(id->str() == text, "a stream id without leading zeros prints as it was written");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = p::parse_client_frame(text);
  boost::system::error_code ec;
  const auto as_json = json::parse(text, ec);
  const bool object = !ec && as_json.is_object();
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool opens_object = first != std::string_view::npos && text[first] == '{';

  if (auto* e = std::get_if<p::frame_error>(&parsed)) {
    require(object || opens_object, "only JSON objects, or text that opens one, are rejected");
    require(object || !e->field, "a frame that is not an object names no field");
    require(!e->field || e->message.find(*e->field) != std::string::npos, "an error names its field");
  } else {
    const auto& f = std::get<p::client_frame>(parsed);
    require(object || !opens_object, "text that opens an object but is not one is rejected");
    if (!object) {
      auto* m = std::get_if<p::message_frame>(&f);
      require(m && m->text == text && m->client_id.empty(), "a non-object text is a message of exactly that text");
    }
    // Text frames are UTF-8 (Beast refuses others); JSON cannot carry anything else either.
    const auto* plain = std::get_if<p::message_frame>(&f);
    if (!plain || parley::utf8_length(plain->text)) {
      auto again = p::parse_client_frame(serialize(f));
      auto* g = std::get_if<p::client_frame>(&again);
      require(g && same(f, *g), "an accepted frame serialized again parses to the same frame");
    }
    if (auto* m = std::get_if<p::message_frame>(&f)) {
      if (!m->client_id.empty()) check_id(m->client_id);
      if (!parley::validate_message_text(m->text, 100000))
        require(!has_control(m->text, "\t\n"), "an accepted message has no control characters but tab and newline");
    }
    if (auto* s = std::get_if<p::stop_frame>(&f)) check_id(s->message_id);
  }

  check_stream_id(text);
  // The input's first line is the id, the rest the stored event.
  const auto nl = text.find('\n');
  const auto id = text.substr(0, nl);
  const auto event = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  check_stream_id(id);
  if (!p::stream_id::parse(id)) return 0;  // entry ids come from Redis
  if (auto with_id = p::event_with_id(event, id)) {
    auto v = json::parse(*with_id, ec);
    require(!ec && v.is_object(), "event_with_id gives a JSON object");
    const auto& o = v.as_object();
    require(o.contains("id") && o.at("id") == json::string(id), "event_with_id sets id");
    require(p::event_id(*with_id) == p::stream_id::parse(id), "event_id reads what event_with_id wrote");
  }
  return 0;
}
