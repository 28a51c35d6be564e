#include <parley/keys.hpp>
#include <parley/worker/errors.hpp>
#include <parley/worker/metrics.hpp>
#include <parley/worker/scripts.hpp>
#include <parley/worker/session_store.hpp>

namespace parley::worker {

namespace {

// result<bool> cannot be built from an error code implicitly (bool is constructible from one).
template <class T>
result<T> fail(boost::system::error_code ec) {
  return result<T>(boost::system::in_place_error, ec);
}

std::optional<std::string> optional_string(const redis::value& v) {
  if (auto s = v.as_string()) return std::string(*s);
  return std::nullopt;
}

}  // namespace

session_store::session_store(redis::client& redis, const worker_config& cfg, std::string owner,
                             worker_metrics& metrics)
    : redis_(redis),
      cfg_(cfg),
      owner_(std::move(owner)),
      metrics_(metrics),
      lease_ttl_ms_(std::to_string(cfg.lease_ttl.count())),
      session_ttl_ms_(std::to_string(cfg.session_ttl.count())),
      retention_(std::to_string(cfg.event_retention)) {}

net::awaitable<result<redis::value>> session_store::run(const redis::script& s, std::vector<std::string> keys,
                                                        std::vector<std::string> args) {
  metrics_.redis_commands(1);
  auto r = co_await s.run(redis_, keys, args);
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  if (r->is_error()) {
    metrics_.redis_error();
    co_return redis::errc::reply_error;
  }
  co_return std::move(*r);
}

namespace {

std::vector<redis::command> state_commands(const std::string& token) {
  return {
      {"HMGET", keys::session(token), std::string(keys::field::next_seq), std::string(keys::field::done_seq),
       std::string(keys::field::name), std::string(keys::field::turn_seq), std::string(keys::field::turn)},
      {"LRANGE", keys::history(token), "0", "-1"},
  };
}

result<session_state> parse_state(const redis::value& fields, const redis::value& history) {
  if (!fields.is_array() || fields.elements.size() != 5 || !history.is_array()) return errc::unexpected_reply;
  session_state st;
  st.exists = !fields.elements[2].is_nil() || !fields.elements[0].is_nil();
  st.next_seq = fields.elements[0].as_integer().value_or(0);
  st.done_seq = fields.elements[1].as_integer().value_or(0);
  st.turn_seq = fields.elements[3].as_integer().value_or(0);
  if (auto t = fields.elements[4].as_string()) st.turn = std::string(*t);
  st.history.reserve(history.elements.size());
  for (const auto& e : history.elements) {
    auto s = e.as_string();
    if (!s) return errc::history_corrupt;
    st.history.emplace_back(*s);
  }
  return st;
}

}  // namespace

net::awaitable<result<acquired_session>> session_store::acquire_and_read(const std::string& token) {
  metrics_.redis_commands(3);
  std::vector<redis::command> cmds{{"SET", keys::lease(token), owner_, "NX", "PX", lease_ttl_ms_}};
  for (auto& c : state_commands(token)) cmds.push_back(std::move(c));
  auto r = co_await redis_.exec_pipeline(std::move(cmds));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  if (r->size() != 3) co_return errc::unexpected_reply;
  if ((*r)[0].is_error()) co_return redis::errc::reply_error;
  acquired_session out;
  out.acquired = !(*r)[0].is_nil();
  if (!out.acquired) co_return out;
  auto st = parse_state((*r)[1], (*r)[2]);
  if (!st) co_return st.error();
  out.state = std::move(*st);
  co_return out;
}

net::awaitable<result<session_state>> session_store::read_state(const std::string& token) {
  metrics_.redis_commands(2);
  auto r = co_await redis_.exec_pipeline(state_commands(token));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  if (r->size() != 2) co_return errc::unexpected_reply;
  co_return parse_state((*r)[0], (*r)[1]);
}

net::awaitable<result<attempt_start>> session_store::begin_attempt(const std::string& token, long long seq) {
  std::vector<std::string> script_keys{keys::lease(token), keys::attempts(token), keys::session(token), keys::stop(token)};
  std::vector<std::string> args{owner_, std::to_string(seq), session_ttl_ms_};
  auto r = co_await run(scripts::begin_attempt(), std::move(script_keys), std::move(args));
  if (!r) co_return r.error();
  if (!r->is_array() || r->elements.empty()) co_return errc::unexpected_reply;
  auto first = r->elements[0].as_integer();
  if (!first) co_return errc::unexpected_reply;
  attempt_start out;
  if (*first == -1) {
    out.outcome = attempt_start::status::lease_lost;
  } else if (*first == -2) {
    out.outcome = attempt_start::status::already_done;
  } else {
    if (r->elements.size() != 3) co_return errc::unexpected_reply;
    out.attempt = static_cast<int>(*first);
    out.last_error = optional_string(r->elements[1]);
    out.stop = optional_string(r->elements[2]);
  }
  co_return out;
}

net::awaitable<result<emit_result>> session_store::emit(const std::string& token, std::vector<std::string> events) {
  std::vector<std::string> args;
  args.reserve(4 + events.size());
  args.push_back(owner_);
  args.push_back(retention_);
  args.push_back(keys::notify_channel(token));
  args.push_back(session_ttl_ms_);
  for (auto& e : events) args.push_back(std::move(e));
  std::vector<std::string> script_keys{keys::lease(token), keys::events(token), keys::session(token)};
  auto r = co_await run(scripts::emit(), std::move(script_keys), std::move(args));
  if (!r) co_return r.error();
  emit_result out;
  if (!r->is_array()) co_return out;  // 0: not the owner
  out.ours = true;
  for (const auto& id : r->elements) {
    auto s = id.as_string();
    if (!s) co_return errc::unexpected_reply;
    out.ids.emplace_back(*s);
  }
  co_return out;
}

net::awaitable<result<heartbeat_result>> session_store::heartbeat(const std::string& token) {
  std::vector<std::string> script_keys{keys::lease(token), keys::stop(token)};
  std::vector<std::string> args{owner_, lease_ttl_ms_};
  auto reply = co_await run(scripts::heartbeat(), std::move(script_keys), std::move(args));
  if (!reply) co_return reply.error();
  if (!reply->is_array() || reply->elements.size() != 2) co_return errc::unexpected_reply;
  heartbeat_result out;
  out.ours = reply->elements[0].as_integer().value_or(0) == 1;
  out.stop = optional_string(reply->elements[1]);
  co_return out;
}

net::awaitable<result<complete_status>> session_store::complete(const std::string& token, long long seq,
                                                                const std::string& reply_to,
                                                                const std::string& reply_id,
                                                                const std::string& entry_json,
                                                                const std::string& event_json) {
  std::vector<std::string> script_keys{keys::lease(token),    keys::session(token), keys::history(token),
                                       keys::events(token),   keys::attempts(token), keys::stop(token),
                                       keys::dedupe(token)};
  std::vector<std::string> args{owner_,     std::to_string(seq),         reply_to,       entry_json,
                                event_json, retention_, keys::notify_channel(token), session_ttl_ms_, reply_id};
  auto r = co_await run(scripts::complete(), std::move(script_keys), std::move(args));
  if (!r) co_return r.error();
  auto v = r->as_integer();
  if (!v) co_return errc::unexpected_reply;
  switch (*v) {
    case 2: co_return complete_status::stored_released;
    case 1: co_return complete_status::stored;
    case 0: co_return complete_status::not_next;
    case -1: co_return complete_status::lease_lost;
    case -2: co_return complete_status::session_gone;
  }
  co_return errc::unexpected_reply;
}

net::awaitable<result<int>> session_store::release(const std::string& token) {
  std::vector<std::string> script_keys{keys::lease(token), keys::session(token)};
  std::vector<std::string> args{owner_};
  auto r = co_await run(scripts::release(), std::move(script_keys), std::move(args));
  if (!r) co_return r.error();
  auto v = r->as_integer();
  if (!v) co_return errc::unexpected_reply;
  co_return static_cast<int>(*v);
}

net::awaitable<result<bool>> session_store::drop_lease(const std::string& token) {
  std::vector<std::string> script_keys{keys::lease(token)};
  std::vector<std::string> args{owner_};
  auto r = co_await run(scripts::drop_lease(), std::move(script_keys), std::move(args));
  if (!r) co_return fail<bool>(r.error());
  co_return r->as_integer().value_or(0) == 1;
}

net::awaitable<result<void>> session_store::record_error(const std::string& token, long long seq,
                                                         const std::string& error) {
  metrics_.redis_commands(1);
  redis::command cmd{"HSET", keys::attempts(token), std::to_string(seq) + ":error", error};
  auto r = co_await redis_.exec(std::move(cmd));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  co_return result<void>{};
}

}  // namespace parley::worker
