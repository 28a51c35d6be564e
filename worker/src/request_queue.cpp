#include <parley/keys.hpp>
#include <parley/request_entry.hpp>
#include <parley/worker/metrics.hpp>
#include <parley/worker/request_queue.hpp>
#include <parley/worker/scripts.hpp>

#include <charconv>

namespace parley::worker {

namespace {

const std::string group{keys::workers_group};
// The dead-letter stream is for operators to inspect; it is trimmed so a poison flood cannot
// fill Redis.
constexpr const char* deadletter_maxlen = "100000";

redis::command xadd_request(const std::string& stream, const std::string& token, long long seq,
                            const std::string& message_id) {
  redis::command cmd{"XADD", stream, "*"};
  for (auto& f : encode_request({token, seq, message_id})) cmd.push_back(std::move(f));
  return cmd;
}

std::optional<long long> to_ll(std::string_view s) {
  long long v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::chrono::milliseconds request_entry::added_at() const {
  auto dash = id.find('-');
  return std::chrono::milliseconds(to_ll(std::string_view(id).substr(0, dash)).value_or(0));
}

std::vector<request_entry> parse_entries(const redis::value& entries, bool claimed, int shard) {
  std::vector<request_entry> out;
  if (!entries.is_array()) return out;
  for (const auto& item : entries.elements) {
    if (!item.is_array() || item.elements.size() != 2) continue;
    auto id = item.elements[0].as_string();
    if (!id) continue;
    request_entry e;
    e.id = std::string(*id);
    e.claimed = claimed;
    e.shard = shard;
    const auto& fields = item.elements[1];
    std::vector<std::pair<std::string_view, std::string_view>> pairs;
    if (!fields.is_array() || fields.elements.size() % 2 != 0) {
      e.valid = false;
    } else {
      for (std::size_t i = 0; i + 1 < fields.elements.size(); i += 2) {
        auto name = fields.elements[i].as_string();
        auto value = fields.elements[i + 1].as_string();
        if (!name || !value) {
          e.valid = false;
          break;
        }
        pairs.emplace_back(*name, *value);
      }
    }
    if (e.valid) {
      if (auto r = decode_request(pairs)) {
        e.token = std::move(r->token);
        e.seq = r->seq;
        e.message_id = std::move(r->message_id);
      } else {
        e.valid = false;
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

request_queue::request_queue(std::vector<redis::client*> readers, redis::client& shared, const worker_config& cfg,
                             std::string consumer, worker_metrics& metrics)
    : streams_(cfg.request_shards),
      readers_(std::move(readers)),
      shared_(shared),
      cfg_(cfg),
      consumer_(std::move(consumer)),
      metrics_(metrics) {}

net::awaitable<boost::system::result<void>> request_queue::ensure_groups() {
  for (int shard = 0; shard < shards(); ++shard) {
    auto r = co_await ensure_group(shard);
    if (!r) co_return r;
  }
  co_return boost::system::result<void>{};
}

net::awaitable<boost::system::result<void>> request_queue::ensure_group(int shard) {
  metrics_.redis_commands(1);
  redis::command cmd{"XGROUP", "CREATE", stream(shard), group, "0", "MKSTREAM"};
  auto r = co_await shared_.exec(std::move(cmd));
  if (!r) co_return r.error();
  if (r->is_error() && !r->str.starts_with("BUSYGROUP")) co_return redis::errc::reply_error;
  co_return boost::system::result<void>{};
}

net::awaitable<boost::system::result<redis::value>> request_queue::counted(
    net::awaitable<boost::system::result<redis::value>> call) {
  metrics_.redis_commands(1);
  auto r = co_await std::move(call);
  if (!r || r->is_error()) metrics_.redis_error();
  co_return r;
}

net::awaitable<boost::system::result<std::vector<request_entry>>> request_queue::read(int shard, int count) {
  redis::command cmd{"XREADGROUP", "GROUP", group, consumer_, "COUNT", std::to_string(count), "BLOCK",
                                  std::to_string(cfg_.read_block.count()), "STREAMS", stream(shard), ">"};
  auto r = co_await counted(readers_.at(static_cast<std::size_t>(shard))->exec(std::move(cmd)));
  if (!r) co_return r.error();
  if (r->is_error()) {
    // NOGROUP: the stream or group was deleted (FLUSHALL, operator); recreate it.
    if (r->str.starts_with("NOGROUP")) {
      auto g = co_await ensure_group(shard);
      if (!g) co_return g.error();
      co_return std::vector<request_entry>{};
    }
    co_return redis::errc::reply_error;
  }
  std::vector<request_entry> out;
  if (r->is_array()) {
    for (const auto& stream : r->elements) {
      if (stream.is_array() && stream.elements.size() == 2) {
        auto part = parse_entries(stream.elements[1], false, shard);
        for (auto& e : part) out.push_back(std::move(e));
      }
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) metrics_.request_read();
  co_return out;
}

net::awaitable<boost::system::result<std::vector<request_entry>>> request_queue::autoclaim(int shard, int count) {
  redis::command cmd{"XAUTOCLAIM", stream(shard), group, consumer_, std::to_string(cfg_.claim_min_idle.count()),
                                  "0-0", "COUNT", std::to_string(count)};
  auto r = co_await counted(shared_.exec(std::move(cmd)));
  if (!r) co_return r.error();
  if (r->is_error()) {
    if (r->str.starts_with("NOGROUP")) co_return std::vector<request_entry>{};
    co_return redis::errc::reply_error;
  }
  if (!r->is_array() || r->elements.size() < 2) co_return redis::errc::protocol_error;
  auto out = parse_entries(r->elements[1], true, shard);
  for (std::size_t i = 0; i < out.size(); ++i) metrics_.request_claimed();
  co_return out;
}

net::awaitable<boost::system::result<void>> request_queue::ack(const request_entry& e) {
  metrics_.redis_commands(1);
  redis::command cmd{"XACK", stream(e.shard), group, e.id};
  auto r = co_await shared_.exec(std::move(cmd));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  co_return boost::system::result<void>{};
}

net::awaitable<boost::system::result<void>> request_queue::keep_claimed(const request_entry& e) {
  redis::command cmd{"XCLAIM", stream(e.shard), group, consumer_, "0", e.id, "JUSTID"};
  auto r = co_await counted(shared_.exec(std::move(cmd)));
  if (!r) co_return r.error();
  if (r->is_error()) co_return redis::errc::reply_error;
  co_return boost::system::result<void>{};
}

net::awaitable<boost::system::result<request_queue::upkeep>> request_queue::maintain() {
  upkeep out;
  std::optional<boost::system::error_code> failed;
  for (int shard = 0; shard < shards(); ++shard) {
    // Each shard on its own: one that fails (its master failing over) does not keep the others
    // from being trimmed.
    std::vector<std::string> script_keys{stream(shard)};
    std::vector<std::string> args{group, std::to_string(cfg_.consumer_expiry.count())};
    auto r = co_await counted(scripts::maintain_queue().run(shared_, script_keys, args));
    if (!r) {
      if (!failed) failed = r.error();
      continue;
    }
    if (!r->is_array() || r->elements.size() != 2) {
      if (!r->is_error()) metrics_.redis_error();
      if (!failed) failed = make_error_code(redis::errc::reply_error);
      continue;
    }
    out.trimmed += r->elements[0].as_integer().value_or(0);
    out.consumers_removed += r->elements[1].as_integer().value_or(0);
  }
  if (failed) co_return *failed;
  co_return out;
}

net::awaitable<boost::system::result<void>> request_queue::requeue(const request_entry& e) {
  metrics_.redis_commands(2);
  std::vector<redis::command> cmds{
      xadd_request(stream(e.shard), e.token, e.seq, e.message_id),
      {"XACK", stream(e.shard), group, e.id},
  };
  auto r = co_await shared_.exec_pipeline(std::move(cmds));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  co_return boost::system::result<void>{};
}

net::awaitable<boost::system::result<long long>> request_queue::reader_id(int shard) {
  // CLIENT ID names no key: the keyed EXISTS routes the pipeline to the shard's node, over the
  // connection its XREADGROUP uses.
  metrics_.redis_commands(2);
  std::vector<redis::command> cmds{{"EXISTS", stream(shard)}, {"CLIENT", "ID"}};
  auto r = co_await readers_.at(static_cast<std::size_t>(shard))->exec_pipeline(std::move(cmds));
  if (!r) co_return r.error();
  if (r->size() != 2 || !(*r)[1].as_integer()) co_return redis::errc::reply_error;
  co_return *(*r)[1].as_integer();
}

net::awaitable<boost::system::result<long long>> request_queue::unblock(int shard, long long reader_id) {
  metrics_.redis_commands(2);
  std::vector<redis::command> cmds{{"EXISTS", stream(shard)}, {"CLIENT", "UNBLOCK", std::to_string(reader_id), "TIMEOUT"}};
  auto r = co_await shared_.exec_pipeline(std::move(cmds));
  if (!r) co_return r.error();
  if (r->size() != 2 || !(*r)[1].as_integer()) co_return redis::errc::reply_error;
  co_return *(*r)[1].as_integer();
}

net::awaitable<boost::system::result<std::string>> request_queue::dead_letter(const request_entry& e, long long seq,
                                                                       const std::string& message_id,
                                                                       const std::string& error, int attempts) {
  metrics_.redis_commands(1);
  redis::command cmd{"XADD", std::string(keys::deadletter_stream), "MAXLEN", "~", deadletter_maxlen, "*"};
  for (auto& f : encode_request({e.token, seq, message_id})) cmd.push_back(std::move(f));
  for (auto f : {std::string("error"), error, std::string("attempts"), std::to_string(attempts), std::string("request"), e.id,
                 std::string("worker"), consumer_})
    cmd.push_back(std::move(f));
  auto r = co_await shared_.exec(std::move(cmd));
  if (!r) {
    metrics_.redis_error();
    co_return r.error();
  }
  auto id = r->as_string();
  if (!id) co_return redis::errc::reply_error;
  co_return std::string(*id);
}

}  // namespace parley::worker
