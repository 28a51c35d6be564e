#include <parley/conversation_tree.hpp>
#include <parley/gateway/errors.hpp>
#include <parley/gateway/scripts.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/keys.hpp>
#include <parley/protocol.hpp>
#include <parley/request_entry.hpp>
#include <parley/time.hpp>
#include <parley/token.hpp>
#include <parley/validation.hpp>

#include <algorithm>
#include <chrono>

#include <spdlog/spdlog.h>

namespace parley::gateway {

namespace {

const redis::script& accept_script() {
  static const redis::script s{std::string(scripts::accept)};
  return s;
}
const redis::script& queue_depth_script() {
  static const redis::script s{std::string(scripts::queue_depth)};
  return s;
}
const redis::script& withdraw_script() {
  static const redis::script s{std::string(scripts::withdraw)};
  return s;
}
const redis::script& switch_script() {
  static const redis::script s{std::string(scripts::switch_branch)};
  return s;
}
const redis::script& load_script() {
  static const redis::script s{std::string(scripts::load)};
  return s;
}

std::string str_of(const redis::value& v) {
  auto s = v.as_string();
  return s ? std::string(*s) : std::string();
}

// Value of `name` in a flat key/value array reply (XINFO), or nullptr.
const redis::value* field(const redis::value& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].as_string() == name) return &flat.elements[i + 1];
  return nullptr;
}

long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

net::awaitable<result<session_snapshot>> session_store::create(std::string name) {
  session_snapshot s{new_token(), std::move(name), now_iso8601(), "0-0", {}, {}, {}, {}};
  const auto key = keys::session(s.token);
  std::vector<redis::command> cmds{
      {"HSET", key, std::string(keys::field::name), s.name, std::string(keys::field::session_start),
       s.session_start, std::string(keys::field::next_seq), "0", std::string(keys::field::done_seq), "0"},
      {"EXPIRE", key, std::to_string(cfg_.session_ttl.count())},
  };
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) co_return from_redis(r.error());
  for (const auto& v : *r)
    if (v.is_error()) co_return errc::bad_reply;
  co_return s;
}

net::awaitable<result<session_snapshot>> session_store::load(std::string token, bool with_history,
                                                           std::string owner) {
  std::vector<std::string> args{std::to_string(cfg_.session_ttl.count()), with_history ? "1" : "0", owner};
  auto r = co_await load_script().run(redis_, scripts::session_keys(token), args);
  if (!r) co_return from_redis(r.error());
  if (r->is_nil()) co_return errc::session_not_found;
  if (!r->is_array() || r->elements.size() != 6) co_return errc::bad_reply;
  session_snapshot s;
  s.token = std::move(token);
  s.owner = std::move(owner);
  s.title = str_of(r->elements[4]);
  s.name = str_of(r->elements[0]);
  s.session_start = str_of(r->elements[1]);
  s.last_event_id = str_of(r->elements[2]);
  for (const auto& e : r->elements[3].elements) s.history.push_back(str_of(e));
  s.leaf = str_of(r->elements[5]);
  co_return s;
}

// The accept script's ARGV 12-19 (scripts::accept): what kind of turn, and for versions, what
// the gateway checked.
struct session_store::accept_turn {
  std::string kind = "message";
  std::string expect;
  std::string parent;
  long long parent_seq = 0;
  std::string target;
  std::string reply_to;
  int version = 0;
  int versions = 0;
};

net::awaitable<result<accept_outcome>> session_store::accept(std::string token, std::string text,
                                                             std::string client_id) {
  // A named turn: g++ 12 destroys a temporary in a co_await operand twice.
  const accept_turn turn;
  auto r = co_await run_accept(std::move(token), std::move(text), std::move(client_id), turn);
  co_return r;
}

net::awaitable<result<accept_outcome>> session_store::run_accept(std::string token, std::string text,
                                                                 std::string client_id, const accept_turn& turn) {
  std::vector<std::string> args{std::to_string(now_ms()), std::to_string(cfg_.session_ttl.count()),
                                std::to_string(cfg_.rate_burst), std::to_string(cfg_.rate_per_second),
                                std::move(client_id), text, now_iso8601(),
                                std::to_string(cfg_.event_retention), keys::notify_channel(token),
                                title_from_message(text), std::to_string(cfg_.max_conversation_messages),
                                turn.kind, turn.expect, turn.parent, std::to_string(turn.parent_seq), turn.target,
                                turn.reply_to, std::to_string(turn.version), std::to_string(turn.versions)};
  auto r = co_await accept_script().run(redis_, scripts::session_keys(token), args);
  if (!r) co_return from_redis(r.error());
  if (!r->is_array() || r->elements.empty()) co_return errc::bad_reply;
  const auto& el = r->elements;
  const auto what = str_of(el[0]);
  accept_outcome out;
  if (what == "expired") co_return errc::session_not_found;
  if (what == "full") {
    out.type = accept_outcome::kind::full;
    co_return out;
  }
  if (what == "conflict") {
    out.type = accept_outcome::kind::conflict;
    co_return out;
  }
  if (what == "duplicate" && el.size() == 4) {
    out.type = accept_outcome::kind::duplicate;
    out.id = str_of(el[1]);
    out.unanswered = el[2].as_integer().value_or(0) != 0;
    out.seq = el[3].as_integer().value_or(0);
    co_return out;
  }
  if (what == "rate_limited" && el.size() == 2) {
    out.type = accept_outcome::kind::rate_limited;
    out.retry_after_ms = el[1].as_integer().value_or(1000);
    co_return out;
  }
  if (what == "accepted" && el.size() == 3) {
    out.id = str_of(el[1]);
    out.seq = el[2].as_integer().value_or(0);
    co_return out;
  }
  co_return errc::bad_reply;
}

namespace {

constexpr int version_attempts = 3;

version_outcome refused(api_errc code, std::string field, std::string message) {
  version_outcome out;
  out.type = version_outcome::kind::refused;
  out.code = code;
  out.field = std::move(field);
  out.message = std::move(message);
  return out;
}

}  // namespace

net::awaitable<result<version_outcome>> session_store::request_version(std::string token, protocol::version_frame f) {
  using op = protocol::version_frame::op;
  for (int attempt = 0; attempt < version_attempts; ++attempt) {
    std::vector<redis::command> cmds{
        {"HMGET", keys::session(token), std::string(keys::field::next_seq), std::string(keys::field::done_seq),
         std::string(keys::field::leaf)},
        {"LRANGE", keys::history(token), "0", "-1"}};
    if (!f.client_id.empty()) cmds.push_back({"HGET", keys::dedupe(token), f.client_id});
    auto r = co_await redis_.exec_pipeline(std::move(cmds));
    if (!r) co_return from_redis(r.error());
    for (const auto& v : *r)
      if (v.is_error()) co_return errc::bad_reply;
    const auto& fields = (*r)[0].elements;
    if (fields.size() != 3) co_return errc::bad_reply;
    if (fields[0].is_nil() && fields[1].is_nil()) co_return errc::session_not_found;
    const std::string next_raw = fields[0].is_nil() ? "0" : str_of(fields[0]);
    const std::string done_raw = fields[1].is_nil() ? "0" : str_of(fields[1]);
    const std::string leaf = str_of(fields[2]);
    std::vector<std::string> raw;
    for (const auto& e : (*r)[1].elements) raw.push_back(str_of(e));

    accept_turn turn;
    turn.expect = next_raw + "|" + done_raw + "|" + leaf + "|" + std::to_string(raw.size());
    const bool resend = f.kind != op::switch_version && r->size() == 3 && !(*r)[2].is_nil();
    std::string text;
    if (!resend) {
      // A resend is acknowledged again whatever happened since (the script answers `duplicate`);
      // everything else is checked against the conversation as stored.
      if (next_raw != done_raw)
        co_return refused(api_errc::reply_in_progress, "",
                          "a reply is being written; wait for it to end or stop it first");
      auto tree = history::tree::parse(raw);
      if (!tree) {
        spdlog::error("session {}: a history entry is corrupt", token);
        co_return errc::bad_reply;
      }
      const auto target = tree->find(f.message_id);
      if (!target) co_return refused(api_errc::message_not_found, "message_id", "this conversation has no message " + f.message_id);
      const auto& e = tree->entries()[*target];
      switch (f.kind) {
        case op::edit: {
          if (!e.human) co_return refused(api_errc::invalid_target, "message_id", "only a message of the person can be edited");
          const auto place = tree->placement_of(*target);
          turn.kind = "edit";
          turn.parent = place.parent;
          turn.parent_seq = place.parent_seq;
          turn.target = e.id;
          turn.versions = static_cast<int>(tree->siblings(*target).size()) + 1;
          turn.version = turn.versions;
          text = f.text;
          break;
        }
        case op::regenerate:
        case op::continue_reply:
          if (e.human) co_return refused(api_errc::invalid_target, "message_id", "only a reply can be regenerated or continued");
          if (f.kind == op::continue_reply && !e.cut_off)
            co_return refused(api_errc::invalid_target, "message_id",
                              "only a reply that stopped at the token limit can be continued");
          turn.kind = f.kind == op::regenerate ? "regenerate" : "continue";
          turn.target = e.id;
          turn.reply_to = e.reply_to;
          break;
        case op::switch_version: {
          const auto versions = tree->siblings(*target);
          if (f.version > static_cast<long long>(versions.size()))
            co_return refused(api_errc::bad_frame, "version",
                              "message " + f.message_id + " has " + std::to_string(versions.size()) + " version(s)");
          const auto chosen = versions[static_cast<std::size_t>(f.version - 1)];
          const auto new_leaf = tree->entries()[tree->newest_leaf_below(chosen)].id;
          std::vector<std::string> args{std::to_string(cfg_.session_ttl.count()), turn.expect, new_leaf,
                                        std::to_string(cfg_.event_retention), keys::notify_channel(token),
                                        tree->entries()[chosen].id, std::to_string(f.version),
                                        std::to_string(versions.size())};
          auto s = co_await switch_script().run(redis_, scripts::session_keys(token), args);
          if (!s) co_return from_redis(s.error());
          if (!s->is_array() || s->elements.empty()) co_return errc::bad_reply;
          const auto what = str_of(s->elements[0]);
          if (what == "expired") co_return errc::session_not_found;
          if (what == "conflict") continue;
          if (what != "switched") co_return errc::bad_reply;
          version_outcome out;
          out.type = version_outcome::kind::switched;
          out.id = new_leaf;
          co_return out;
        }
      }
    } else {
      turn.kind = f.kind == op::edit ? "edit" : f.kind == op::regenerate ? "regenerate" : "continue";
    }
    auto a = co_await run_accept(token, text, f.client_id, turn);
    if (!a) co_return a.error();
    version_outcome out;
    switch (a->type) {
      case accept_outcome::kind::conflict: continue;
      case accept_outcome::kind::accepted: out.type = version_outcome::kind::accepted; break;
      case accept_outcome::kind::duplicate: out.type = version_outcome::kind::duplicate; break;
      case accept_outcome::kind::rate_limited: out.type = version_outcome::kind::rate_limited; break;
      case accept_outcome::kind::full: out.type = version_outcome::kind::full; break;
    }
    out.id = a->id;
    out.seq = a->seq;
    out.unanswered = a->unanswered;
    out.retry_after_ms = a->retry_after_ms;
    co_return out;
  }
  co_return refused(api_errc::unavailable, "", "the conversation kept changing meanwhile; nothing was changed, try again");
}

net::awaitable<boost::system::error_code> session_store::wait_replicas(const std::string& key) {
  if (cfg_.wait_replicas <= 0) co_return boost::system::error_code{};
  // WAIT names no key: the keyed EXISTS before it routes the pipeline to the node serving `key`,
  // whose one connection also carried this gateway's writes there, which WAIT then covers.
  std::vector<redis::command> cmds{{"EXISTS", key},
                                   {"WAIT", std::to_string(cfg_.wait_replicas), std::to_string(cfg_.wait_timeout.count())}};
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) co_return from_redis(r.error());
  if (r->size() != 2 || (*r)[1].is_error()) co_return make_error_code(errc::bad_reply);
  const auto acked = (*r)[1].as_integer().value_or(0);
  if (acked < cfg_.wait_replicas) {
    spdlog::warn("WAIT at the node of {}: {} of {} replica(s) within {} ms", key, acked, cfg_.wait_replicas,
                 cfg_.wait_timeout.count());
    co_return make_error_code(errc::unavailable);
  }
  co_return boost::system::error_code{};
}

net::awaitable<result<std::string>> session_store::enqueue_request(std::string token, long long seq, std::string id) {
  redis::command cmd{"XADD", request_stream_of(token), "*"};
  for (auto& f : encode_request({std::move(token), seq, std::move(id)})) cmd.push_back(std::move(f));
  auto r = co_await redis_.exec(std::move(cmd));
  if (!r) co_return from_redis(r.error());
  if (r->is_error() || !r->as_string()) co_return errc::bad_reply;
  co_return std::string(*r->as_string());
}

net::awaitable<boost::system::error_code> session_store::stop(std::string token, std::string message_id) {
  std::vector<redis::command> cmds{
      {"SET", keys::stop(token), message_id, "EX", std::to_string(cfg_.session_ttl.count())},
      {"PUBLISH", std::string(keys::stop_channel), token + " " + message_id},
  };
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) co_return from_redis(r.error());
  for (const auto& v : *r)
    if (v.is_error()) co_return errc::bad_reply;
  co_return boost::system::error_code{};
}

net::awaitable<result<stop_outcome>> session_store::stop_or_withdraw(std::string token, std::string message_id,
                                                                     std::string request_id) {
  std::vector<std::string> script_keys{keys::session(token), keys::history(token), keys::events(token),
                                       keys::attempts(token), keys::lease(token)};
  std::vector<std::string> args{message_id, std::to_string(cfg_.event_retention), keys::notify_channel(token)};
  auto r = co_await withdraw_script().run(redis_, script_keys, args);
  if (!r) co_return from_redis(r.error());
  const auto what = str_of(*r);
  if (what == "answered") co_return stop_outcome::answered;
  if (what == "withdrawn") {
    if (!request_id.empty()) {
      // Its own slot, so a command of its own. Left behind (another tab's message), the entry
      // costs a worker one read that finds nothing to answer.
      redis::command del{"XDEL", request_stream_of(token), std::move(request_id)};
      auto d = co_await redis_.exec(std::move(del));
      if (!d) spdlog::debug("withdrawn request entry not deleted: {}", d.error().message());
    }
    co_return stop_outcome::withdrawn;
  }
  if (what != "stop") co_return errc::bad_reply;
  if (auto ec = co_await stop(std::move(token), std::move(message_id))) co_return ec;
  co_return stop_outcome::stopping;
}

net::awaitable<result<event_page>> session_store::events_after(std::string token, std::string after,
                                                               std::size_t count) {
  const auto key = keys::events(token);
  std::vector<redis::command> cmds{
      {"XINFO", "STREAM", key},
      {"XRANGE", key, "(" + after, "+", "COUNT", std::to_string(count)},
      {"XRANGE", key, after, after},
  };
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) co_return from_redis(r.error());
  event_page page;
  const auto& info = (*r)[0];
  const auto& range = (*r)[1];
  const bool after_exists = (*r)[2].is_array() && !(*r)[2].elements.empty();
  if (info.is_error() && !info.str.starts_with("ERR no such key")) {
    // LOADING after a restart, or another refusal: the events may all be there, so this is an
    // outage to wait out, never a reason to tell the client its events are gone.
    co_return errc::unavailable;
  }
  if (info.is_error()) {
    // No stream: nothing happened in this session yet (or it was never created here).
    page.last_generated_id = "0-0";
    page.resync = after != "0-0";
    co_return page;
  }
  const auto from = protocol::stream_id::parse(after);
  const auto* last = field(info, "last-generated-id");
  if (!from || !last) co_return errc::bad_reply;
  page.last_generated_id = str_of(*last);
  const auto id_field = [&](std::string_view name) -> std::optional<protocol::stream_id> {
    const auto* v = field(info, name);
    return v ? protocol::stream_id::parse(str_of(*v)) : std::nullopt;
  };
  const auto last_id = protocol::stream_id::parse(page.last_generated_id);
  const auto deleted_id = id_field("max-deleted-entry-id");  // XDEL
  std::optional<protocol::stream_id> first_id;
  if (const auto* first = field(info, "first-entry"); first && first->elements.size() == 2)
    first_id = protocol::stream_id::parse(str_of(first->elements[0]));
  const auto* added = field(info, "entries-added");
  const auto* length = field(info, "length");
  const bool trimmed = added && length && added->as_integer().value_or(0) > length->as_integer().value_or(0);
  // Trimming removes the oldest entries. While `after` itself is still there, everything newer is
  // too; once it is gone and older than the first entry left, events after it may be gone.
  const bool head_lost = trimmed && !after_exists && first_id && *from < *first_id;
  if ((deleted_id && *deleted_id > *from) || (last_id && *from > *last_id) || head_lost) {
    page.resync = true;
    co_return page;
  }
  if (!range.is_array()) co_return errc::bad_reply;
  for (const auto& entry : range.elements) {
    if (entry.elements.size() != 2) continue;
    const auto id = str_of(entry.elements[0]);
    const auto* e = field(entry.elements[1], "e");
    if (!e) continue;
    if (auto json = protocol::event_with_id(str_of(*e), id)) page.events.emplace_back(id, std::move(*json));
  }
  page.more = range.elements.size() >= count;
  co_return page;
}

net::awaitable<result<std::vector<queue_sample>>> session_store::sample_queues(std::size_t cap) {
  std::vector<queue_sample> out;
  for (int shard = 0; shard < streams_.size(); ++shard) {
    auto s = co_await sample_queue(shard, cap);
    if (!s) co_return s.error();
    out.push_back(std::move(*s));
  }
  co_return out;
}

net::awaitable<result<queue_sample>> session_store::sample_queue(int shard, std::size_t cap) {
  cap = std::max<std::size_t>(cap, 1);
  std::vector<std::string> script_keys{streams_.stream(shard)};
  std::vector<std::string> args{std::string(keys::workers_group), std::to_string(cap)};
  auto r = co_await queue_depth_script().run(redis_, script_keys, args);
  if (!r) co_return from_redis(r.error());
  if (!r->is_array() || r->elements.size() != 3) co_return errc::bad_reply;
  const auto pending = r->elements[0].as_integer();
  const auto last = protocol::stream_id::parse(str_of(r->elements[1]));
  if (!pending || !last) co_return errc::bad_reply;
  queue_sample out;
  out.pending = *pending;
  out.last_delivered = *last;
  for (const auto& e : r->elements[2].elements) {
    auto id = protocol::stream_id::parse(str_of(e));
    if (!id) co_return errc::bad_reply;
    out.waiting.push_back(*id);
  }
  out.capped = out.waiting.size() >= cap;
  co_return out;
}

net::awaitable<result<long long>> session_store::queue_depth(std::size_t cap) {
  auto s = co_await sample_queues(cap);
  if (!s) co_return s.error();
  long long depth = 0;
  for (const auto& shard : *s) depth += shard.depth();
  co_return depth;
}

net::awaitable<result<long long>> session_store::workers_alive() {
  redis::command cmd{"ZCOUNT", std::string(keys::workers_presence), "(" + std::to_string(now_ms()), "+inf"};
  auto r = co_await redis_.exec(std::move(cmd));
  if (!r) co_return from_redis(r.error());
  auto n = r->as_integer();
  if (!n) co_return errc::bad_reply;
  co_return *n;
}

}  // namespace parley::gateway
