#include <parley/conversation_tree.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <map>

namespace parley::history {

namespace json = boost::json;

namespace {

std::optional<entry> parse_entry(const std::string& raw) {
  boost::system::error_code ec;
  json::value v = json::parse(raw, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* source = o.if_contains("source");
  const auto* id = o.if_contains("id");
  const auto* msg = o.if_contains("msg");
  const auto* seq = o.if_contains("seq");
  if (!source || !source->is_string() || !id || !id->is_string() || id->get_string().empty() || !msg ||
      !msg->is_string() || !seq || !seq->is_int64())
    return std::nullopt;
  entry e;
  e.id = id->get_string();
  e.msg = msg->get_string();
  e.seq = seq->get_int64();
  if (source->get_string() == "human") {
    e.human = true;
    if (const auto* p = o.if_contains("parent")) {
      if (!p->is_string()) return std::nullopt;
      e.parent = p->get_string();
      e.has_parent = true;
    }
    if (const auto* ps = o.if_contains("parent_seq")) {
      if (!ps->is_int64()) return std::nullopt;
      e.parent_seq = ps->get_int64();
    }
  } else if (source->get_string() == "bot") {
    const auto* reply_to = o.if_contains("reply_to");
    if (!reply_to || !reply_to->is_string()) return std::nullopt;
    e.reply_to = reply_to->get_string();
    e.failed = o.contains("error");
    if (const auto* s = o.if_contains("stopped")) e.stopped = s->is_bool() && s->get_bool();
    if (const auto* f = o.if_contains("finish")) e.cut_off = f->is_string() && f->get_string() == "length";
  } else {
    return std::nullopt;
  }
  return e;
}

}  // namespace

std::optional<tree> tree::parse(const std::vector<std::string>& raw) {
  tree t;
  t.entries_.reserve(raw.size());
  for (const auto& r : raw) {
    auto e = parse_entry(r);
    if (!e) return std::nullopt;
    if (!t.by_id_.emplace(e->id, t.entries_.size()).second) return std::nullopt;
    if (e->human) t.human_by_seq_.emplace(e->seq, t.entries_.size());
    t.entries_.push_back(std::move(*e));
  }
  std::map<std::pair<std::size_t, long long>, std::size_t> replies;  // (message, turn) -> reply
  for (std::size_t i = 0; i < t.entries_.size(); ++i) {
    const auto& e = t.entries_[i];
    if (e.human) continue;
    if (auto m = t.find(e.reply_to); m && t.entries_[*m].human) replies.emplace(std::pair{*m, e.seq}, i);
  }
  t.after_.reserve(t.entries_.size());
  for (std::size_t i = 0; i < t.entries_.size(); ++i) t.after_.push_back(t.resolve_after(i, replies));
  return t;
}

std::optional<std::size_t> tree::find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> tree::after(std::size_t human) const { return after_[human]; }

std::optional<std::size_t> tree::resolve_after(
    std::size_t human, const std::map<std::pair<std::size_t, long long>, std::size_t>& replies) const {
  const auto& h = entries_[human];
  if (!h.human) return std::nullopt;
  std::optional<std::size_t> parent;
  long long turn = 0;
  if (h.has_parent) {
    if (h.parent.empty()) return std::nullopt;
    parent = find(h.parent);
    turn = h.parent_seq;
  } else if (auto it = human_by_seq_.find(h.seq - 1); it != human_by_seq_.end()) {
    parent = it->second;
    turn = h.seq - 1;
  }
  // A parent that is gone (a corrupt or hand-edited list) makes the message a first one rather
  // than an orphan no branch reaches.
  if (!parent || *parent >= human) return std::nullopt;
  if (!entries_[*parent].human) return parent;
  if (auto r = replies.find({*parent, turn}); r != replies.end()) return r->second;
  return parent;
}

std::optional<std::size_t> tree::leaf(std::string_view stored) const {
  if (!stored.empty())
    if (auto i = find(stored)) return i;
  if (entries_.empty()) return std::nullopt;
  return entries_.size() - 1;
}

namespace {
// One step up: a reply to its message, a message to what it follows.
template <class Tree>
std::optional<std::size_t> up(const Tree& t, std::size_t i) {
  const auto& e = t.entries()[i];
  if (e.human) return t.after(i);
  auto m = t.find(e.reply_to);
  if (!m || !t.entries()[*m].human) return std::nullopt;
  return m;
}
}  // namespace

std::vector<std::size_t> tree::branch(std::optional<std::size_t> leaf) const {
  std::vector<std::size_t> out;
  // Each step goes to an earlier entry (after() and a reply's message both precede it), so
  // the walk ends; the bound only guards the invariant.
  for (auto cur = leaf; cur && out.size() <= entries_.size(); cur = up(*this, *cur)) out.push_back(*cur);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::size_t> tree::prompt_path(std::size_t target) const {
  std::vector<std::size_t> walk;
  for (std::optional<std::size_t> cur = target; cur && walk.size() <= entries_.size(); cur = up(*this, *cur))
    walk.push_back(*cur);
  std::vector<std::size_t> out;
  for (auto it = walk.rbegin(); it != walk.rend(); ++it)
    if (entries_[*it].human || !entries_[*it].failed) out.push_back(*it);
  return out;
}

std::vector<std::size_t> tree::siblings(std::size_t i) const {
  std::vector<std::size_t> out;
  const auto& e = entries_[i];
  if (e.human) {
    const auto mine = after(i);
    for (std::size_t j = 0; j < entries_.size(); ++j)
      if (entries_[j].human && after(j) == mine) out.push_back(j);
  } else {
    for (std::size_t j = 0; j < entries_.size(); ++j)
      if (!entries_[j].human && entries_[j].reply_to == e.reply_to) out.push_back(j);
  }
  return out;
}

version_info tree::version_of(std::size_t i) const {
  const auto s = siblings(i);
  const auto pos = std::find(s.begin(), s.end(), i) - s.begin();
  return {static_cast<int>(pos) + 1, static_cast<int>(s.size())};
}

std::vector<std::size_t> tree::children(std::size_t i) const {
  std::vector<std::size_t> out;
  const auto& e = entries_[i];
  for (std::size_t j = i + 1; j < entries_.size(); ++j) {
    const auto& c = entries_[j];
    if (c.human ? after(j) == i : (e.human && c.reply_to == e.id)) out.push_back(j);
  }
  return out;
}

std::size_t tree::newest_leaf_below(std::size_t i) const {
  for (std::size_t steps = 0; steps < entries_.size(); ++steps) {
    const auto c = children(i);
    if (c.empty()) break;
    i = c.back();
  }
  return i;
}

tree::placement tree::placement_of(std::size_t human) const {
  const auto& h = entries_[human];
  if (h.has_parent) return {h.parent, h.parent_seq};
  const auto a = after(human);
  if (!a) return {};
  if (!entries_[*a].human) return {entries_[*a].id, 0};
  return {entries_[*a].id, h.seq - 1};
}

}  // namespace parley::history
