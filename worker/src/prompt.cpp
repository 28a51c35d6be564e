#include <parley/worker/errors.hpp>
#include <parley/worker/prompt.hpp>

#include <boost/json.hpp>

#include <map>

namespace parley::worker {

namespace json = boost::json;

namespace {

struct parsed_entry {
  bool human = false;
  std::string id;
  std::string msg;
  long long seq = 0;
  bool failed = false;
};

// Unknown fields are allowed: the gateway may store more than the worker needs.
std::optional<parsed_entry> parse_entry(const std::string& raw) {
  boost::system::error_code ec;
  json::value v = json::parse(raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* source = o.if_contains("source");
  const auto* id = o.if_contains("id");
  const auto* msg = o.if_contains("msg");
  const auto* seq = o.if_contains("seq");
  if (!source || !source->is_string() || !id || !id->is_string() || !msg || !msg->is_string() || !seq ||
      !seq->is_int64())
    return std::nullopt;
  parsed_entry e;
  if (source->get_string() == "human") {
    e.human = true;
  } else if (source->get_string() != "bot") {
    return std::nullopt;
  }
  e.id = id->get_string();
  e.msg = msg->get_string();
  e.seq = seq->get_int64();
  e.failed = o.contains("error");
  return e;
}

}  // namespace

boost::system::result<turn_input> build_turn(const std::vector<std::string>& raw_history, long long seq) {
  std::map<long long, parsed_entry> humans;
  std::map<long long, parsed_entry> bots;
  for (const auto& raw : raw_history) {
    auto e = parse_entry(raw);
    if (!e) return errc::history_corrupt;
    if (e->seq > seq) continue;
    auto& slot = e->human ? humans : bots;
    slot.insert_or_assign(e->seq, std::move(*e));
  }
  auto target = humans.find(seq);
  if (target == humans.end()) return errc::message_missing;

  turn_input out;
  out.message_id = target->second.id;
  for (auto& [s, h] : humans) {
    out.history.push_back({chat_turn::role::user, std::move(h.msg)});
    if (s == seq) break;
    auto b = bots.find(s);
    if (b != bots.end() && !b->second.failed) out.history.push_back({chat_turn::role::assistant, b->second.msg});
  }
  return out;
}

}  // namespace parley::worker
