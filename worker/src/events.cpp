#include <parley/worker/events.hpp>

#include <boost/json.hpp>

namespace parley::worker {

namespace json = boost::json;

std::string history_entry_json(const bot_reply& r) {
  json::object o;
  o["id"] = r.id;
  o["source"] = "bot";
  o["msg"] = r.text;
  o["timestamp"] = r.timestamp;
  o["seq"] = r.seq;
  o["reply_to"] = r.reply_to;
  if (r.stopped) o["stopped"] = true;
  if (r.cut_off) o["finish"] = "length";
  if (r.error) o["error"] = *r.error;
  return json::serialize(o);
}

std::string reply_start_event(std::string_view reply_to, long long seq, int attempt, std::string_view timestamp,
                              const reply_version& v) {
  json::object o{
      {"type", "reply_start"}, {"reply_to", reply_to}, {"seq", seq}, {"attempt", attempt}, {"timestamp", timestamp}};
  if (!v.kind.empty()) o["kind"] = v.kind;
  if (!v.continues.empty()) o["continue_of"] = v.continues;
  if (v.version > 1) {
    o["version"] = v.version;
    o["versions"] = v.version;
  }
  return json::serialize(o);
}

std::string reply_discard_event(std::string_view reply_to, int attempt) {
  return json::serialize(json::object{{"type", "reply_discard"}, {"reply_to", reply_to}, {"attempt", attempt}});
}

std::string delta_event(std::string_view reply_to, std::string_view text) {
  return json::serialize(json::object{{"type", "delta"}, {"reply_to", reply_to}, {"text", text}});
}

long long epoch_us(std::chrono::system_clock::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string reply_end_event(const bot_reply& r, std::string_view finish, const reply_timing& timing) {
  json::object o{{"type", "reply_end"},     {"reply_to", r.reply_to}, {"message_id", r.id}, {"text", r.text},
                 {"timestamp", r.timestamp}, {"seq", r.seq},          {"finish", finish}};
  if (r.stopped) o["stopped"] = true;
  o["generated_tokens"] = timing.generated_tokens;
  o["prompt_tokens"] = timing.prompt_tokens;
  o["cached_tokens"] = timing.cached_tokens;
  const std::pair<const char*, long long> marks[] = {{"read_us", timing.read_us},
                                                     {"prompt_us", timing.prompt_us},
                                                     {"first_token_us", timing.first_token_us},
                                                     {"last_token_us", timing.last_token_us},
                                                     {"end_us", timing.end_us}};
  for (const auto& [name, us] : marks) {
    if (us > 0) o[name] = us;
  }
  return json::serialize(o);
}

std::string error_event(const bot_reply& r, std::string_view code, std::string_view message) {
  return json::serialize(json::object{{"type", "error"},
                                      {"reply_to", r.reply_to},
                                      {"code", code},
                                      {"message", message},
                                      {"message_id", r.id},
                                      {"timestamp", r.timestamp}});
}

std::string_view to_string(finish_reason r) noexcept {
  switch (r) {
    case finish_reason::stop: return "stop";
    case finish_reason::length: return "length";
    case finish_reason::cancelled: return "cancelled";
  }
  return "stop";
}

}  // namespace parley::worker
