#include <parley/gateway/conversation_scripts.hpp>
#include <parley/gateway/conversation_store.hpp>
#include <parley/gateway/errors.hpp>
#include <parley/keys.hpp>
#include <parley/time.hpp>
#include <parley/token.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>

namespace parley::gateway {

namespace cs = conversation_scripts;
namespace json = boost::json;

namespace {

// One cached script object per script text.
template <const std::string_view& Text>
const redis::script& script_of() {
  static const redis::script s{std::string(Text)};
  return s;
}

std::string str_of(const redis::value& v) {
  auto s = v.as_string();
  return s ? std::string(*s) : std::string();
}

long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string iso_of_ms(std::string_view ms_text) {
  long long ms = 0;
  std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms);
  return to_iso8601(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// The first `chars` code points of `text` (valid UTF-8), whitespace runs made one space.
std::string preview_of(std::string_view text, std::size_t chars) {
  std::string out;
  std::size_t n = 0;
  bool space = false;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ' || c == '\n' || c == '\t') {
      space = !out.empty();
      continue;
    }
    // Continuation bytes belong to the code point already counted.
    if ((c & 0xC0) != 0x80) {
      if (n + (space ? 2 : 1) > chars) break;
      if (space) {
        out.push_back(' ');
        ++n;
        space = false;
      }
      ++n;
    }
    out.push_back(ch);
  }
  return out;
}

// The newest of `entries` (history JSON, oldest first) that has text.
std::string newest_text(const redis::value& entries) {
  for (auto it = entries.elements.rbegin(); it != entries.elements.rend(); ++it) {
    boost::system::error_code ec;
    auto v = json::parse(str_of(*it), ec);
    if (ec || !v.is_object()) continue;
    if (auto* m = v.as_object().if_contains("msg"); m && m->is_string() && !m->as_string().empty())
      return std::string(m->as_string());
  }
  return {};
}

}  // namespace

std::optional<list_cursor> list_cursor::parse(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 15) return std::nullopt;
  const auto score = text.substr(0, colon);
  for (char c : score)
    if (c < '0' || c > '9') return std::nullopt;
  const auto token = text.substr(colon + 1);
  if (!is_token(token)) return std::nullopt;
  return list_cursor{std::string(score), std::string(token)};
}

net::awaitable<result<std::string>> conversation_store::create_user() {
  auto user = new_token();
  const auto key = keys::user(user);
  std::vector<redis::command> cmds{
      {"HSET", key, "created", now_iso8601()},
      {"EXPIRE", key, std::to_string(cfg_.conversation_ttl.count())},
  };
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) co_return from_redis(r.error());
  for (const auto& v : *r)
    if (v.is_error()) co_return errc::bad_reply;
  co_return user;
}

net::awaitable<boost::system::error_code> conversation_store::touch_user(std::string user) {
  const std::vector<std::string> args{std::to_string(cfg_.conversation_ttl.count())};
  auto r = co_await script_of<cs::user_touch>().run(redis_, cs::user_keys(user), args);
  if (!r) co_return from_redis(r.error());
  const auto n = r->as_integer();
  if (!n) co_return errc::bad_reply;
  co_return *n == 1 ? boost::system::error_code{} : make_error_code(errc::user_not_found);
}

net::awaitable<bool> conversation_store::prune_expired(const std::string& user) {
  constexpr std::size_t batch = 32;
  redis::command range{"ZRANGE", keys::user_conversations(user), "0", std::to_string(batch - 1)};
  auto oldest = co_await redis_.exec(std::move(range));
  if (!oldest || !oldest->is_array()) co_return false;
  std::vector<std::string> gone;
  // One command per conversation: each lives in its own slot.
  for (const auto& t : oldest->elements) {
    auto token = str_of(t);
    redis::command exists{"EXISTS", keys::session(token)};
    auto e = co_await redis_.exec(std::move(exists));
    if (e && e->as_integer() == 0) gone.push_back(std::move(token));
  }
  if (gone.empty()) co_return false;
  co_await forget(user, std::move(gone));
  co_return true;
}

net::awaitable<result<session_snapshot>> conversation_store::create(std::string user, std::string name) {
  const auto ttl = std::to_string(cfg_.conversation_ttl.count());
  session_snapshot s{new_token(), std::move(name), now_iso8601(), "0-0", {}, user, "", ""};
  std::vector<std::string> args{ttl, s.token, std::to_string(now_ms()), std::to_string(cfg_.max_conversations)};
  std::string outcome;
  for (int round = 0; round < 2; ++round) {
    auto r = co_await script_of<cs::user_add>().run(redis_, cs::user_keys(user), args);
    if (!r) co_return from_redis(r.error());
    outcome = str_of(*r);
    if (outcome != "full" || round == 1 || !co_await prune_expired(user)) break;
  }
  if (outcome == "no_user") co_return errc::user_not_found;
  if (outcome == "full") co_return errc::too_many_conversations;
  if (outcome != "ok") co_return errc::bad_reply;
  const auto key = keys::session(s.token);
  std::vector<redis::command> cmds{
      {"HSET", key, std::string(keys::field::name), s.name, std::string(keys::field::session_start), s.session_start,
       std::string(keys::field::next_seq), "0", std::string(keys::field::done_seq), "0",
       std::string(keys::field::owner), user, std::string(keys::field::title), "", std::string(keys::field::ttl), ttl},
      {"EXPIRE", key, ttl},
  };
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  bool stored = r.has_value();
  if (stored)
    for (const auto& v : *r) stored = stored && !v.is_error();
  if (!stored) {
    std::vector<std::string> half{s.token};
    co_await forget(user, std::move(half));
    co_return r ? make_error_code(errc::bad_reply) : from_redis(r.error());
  }
  co_return s;
}

net::awaitable<void> conversation_store::forget(const std::string& user, std::vector<std::string> tokens) {
  if (tokens.empty()) co_return;
  auto r = co_await script_of<cs::user_forget>().run(redis_, cs::user_keys(user), tokens);
  if (!r || r->is_error()) spdlog::warn("could not forget {} gone conversations of a person", tokens.size());
}

net::awaitable<result<conversation_page>> conversation_store::list(std::string user, std::optional<list_cursor> cursor,
                                                                   std::size_t limit) {
  std::vector<std::string> args{std::to_string(cfg_.conversation_ttl.count()), std::to_string(limit),
                                cursor ? cursor->score : "", cursor ? cursor->token : ""};
  auto r = co_await script_of<cs::user_page>().run(redis_, cs::user_keys(user), args);
  if (!r) co_return from_redis(r.error());
  if (r->is_nil()) co_return errc::user_not_found;
  if (!r->is_array() || r->elements.size() % 2 != 0) co_return errc::bad_reply;
  conversation_page page;
  std::vector<std::string> gone;
  const auto& el = r->elements;
  const std::size_t shown = std::min(limit, el.size() / 2);
  // One script per conversation, each in its own slot (a cross-slot pipeline would not route).
  for (std::size_t i = 0; i < shown; ++i) {
    auto token = str_of(el[2 * i]);
    const auto score = str_of(el[2 * i + 1]);
    const std::vector<std::string> summary_keys{keys::session(token), keys::history(token)};
    const std::vector<std::string> summary_args{user};
    auto sr = co_await script_of<cs::summary>().run(redis_, summary_keys, summary_args);
    if (!sr) co_return from_redis(sr.error());
    if (sr->is_nil()) {
      gone.push_back(std::move(token));
      continue;
    }
    if (!sr->is_array() || sr->elements.size() != 4) co_return errc::bad_reply;
    const auto& f = sr->elements;
    page.items.push_back({token, str_of(f[0]), str_of(f[1]), iso_of_ms(score), f[2].as_integer().value_or(0),
                          preview_of(newest_text(f[3]), preview_chars)});
  }
  if (el.size() / 2 > limit && shown > 0)
    page.next_cursor = list_cursor{str_of(el[2 * shown - 1]), str_of(el[2 * shown - 2])}.str();
  co_await forget(user, std::move(gone));
  co_return page;
}

net::awaitable<result<session_snapshot>> conversation_store::get(std::string user, std::string token) {
  if (auto ec = co_await touch_user(user)) co_return ec;
  co_return co_await sessions_.load(std::move(token), true, std::move(user));
}

net::awaitable<boost::system::error_code> conversation_store::rename(std::string user, std::string token,
                                                                     std::string title) {
  if (auto ec = co_await touch_user(user)) co_return ec;
  std::vector<std::string> script_keys{keys::session(token), keys::history(token), keys::dedupe(token),
                                       keys::events(token), keys::rate(token)};
  const std::vector<std::string> args{user, std::move(title)};
  auto r = co_await script_of<cs::rename>().run(redis_, script_keys, args);
  if (!r) co_return from_redis(r.error());
  const auto n = r->as_integer();
  if (!n) co_return errc::bad_reply;
  co_return *n == 1 ? boost::system::error_code{} : make_error_code(errc::session_not_found);
}

net::awaitable<boost::system::error_code> conversation_store::remove(std::string user, std::string token) {
  if (auto ec = co_await touch_user(user)) co_return ec;
  const std::vector<std::string> args{user, keys::notify_channel(token)};
  auto r = co_await script_of<cs::remove>().run(redis_, cs::all_conversation_keys(token), args);
  if (!r) co_return from_redis(r.error());
  if (r->is_nil()) co_return errc::session_not_found;
  if (!r->as_string()) co_return errc::bad_reply;
  const auto running = str_of(*r);
  if (!running.empty()) {
    // The worker answering stops within one decode step; its writes then fail their lease check
    // (the lease key went with the rest), so nothing of the conversation is written again.
    redis::command stop{"PUBLISH", std::string(keys::stop_channel), token + " " + running};
    auto p = co_await redis_.exec(std::move(stop));
    if (!p) spdlog::warn("conversation {} deleted, but its running reply could not be stopped", token);
  }
  std::vector<std::string> deleted{token};
  co_await forget(user, std::move(deleted));
  co_return boost::system::error_code{};
}

net::awaitable<boost::system::error_code> conversation_store::activity(std::string user, std::string token) {
  const std::vector<std::string> args{std::to_string(cfg_.conversation_ttl.count()), std::move(token),
                                      std::to_string(now_ms())};
  auto r = co_await script_of<cs::user_activity>().run(redis_, cs::user_keys(user), args);
  if (!r) co_return from_redis(r.error());
  co_return boost::system::error_code{};
}

}  // namespace parley::gateway
