#include <parley/worker/errors.hpp>
#include <parley/worker/prompt.hpp>

#include <parley/conversation_tree.hpp>

#include <boost/json.hpp>

namespace parley::worker {

namespace json = boost::json;

namespace {

struct turn_record {
  std::string kind;
  std::string reply_to;
  std::string from;
};

std::optional<turn_record> parse_record(const std::string& raw) {
  boost::system::error_code ec;
  json::value v = json::parse(raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* kind = o.if_contains("kind");
  const auto* reply_to = o.if_contains("reply_to");
  if (!kind || !kind->is_string() || !reply_to || !reply_to->is_string()) return std::nullopt;
  turn_record r{std::string(kind->get_string()), std::string(reply_to->get_string()), {}};
  if (r.kind != "regenerate" && r.kind != "continue") return std::nullopt;
  if (r.kind == "continue") {
    const auto* from = o.if_contains("from");
    if (!from || !from->is_string()) return std::nullopt;
    r.from = from->get_string();
  }
  return r;
}

}  // namespace

boost::system::result<turn_input> build_turn(const std::vector<std::string>& raw_history, long long seq,
                                             long long turn_seq, const std::string& turn) {
  auto tree = history::tree::parse(raw_history);
  if (!tree) return errc::history_corrupt;
  const auto& entries = tree->entries();
  turn_input out;
  std::optional<std::size_t> target;
  std::optional<std::size_t> continued;
  if (turn_seq == seq && !turn.empty()) {
    auto record = parse_record(turn);
    if (!record) return errc::history_corrupt;
    target = tree->find(record->reply_to);
    if (!target || !entries[*target].human) return errc::history_corrupt;
    out.kind = record->kind;
    if (record->kind == "continue") {
      continued = tree->find(record->from);
      if (!continued || entries[*continued].human) return errc::history_corrupt;
      out.continues = entries[*continued].id;
      out.prefix = entries[*continued].msg;
    }
  } else {
    for (std::size_t i = 0; i < entries.size() && !target; ++i)
      if (entries[i].human && entries[i].seq == seq) target = i;
    if (!target) return errc::message_missing;
  }
  out.message_id = entries[*target].id;
  for (auto i : tree->prompt_path(*target))
    out.history.push_back({entries[i].human ? chat_turn::role::user : chat_turn::role::assistant, entries[i].msg});
  if (continued) out.history.push_back({chat_turn::role::assistant, out.prefix});
  for (const auto& e : entries)
    if (!e.human && e.reply_to == out.message_id) ++out.version;
  return out;
}

}  // namespace parley::worker
