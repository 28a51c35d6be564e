#pragma once
// Every Redis operation of the gateway, as coroutines. Storage errors come back as
// gateway::errc (session_not_found, unavailable, bad_reply); Redis transport errors are never
// retried here, the client answers at once with `unavailable` and the caller tells its client.
// Thread-safety: stateless apart from the shared redis::client, which is thread-safe.
#include <parley/gateway/config.hpp>
#include <parley/keys.hpp>
#include <parley/protocol.hpp>
#include <parley/redis/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <vector>

namespace parley::gateway {

namespace net = boost::asio;
template <class T>
using result = boost::system::result<T>;

struct session_snapshot {
  std::string token;
  std::string name;
  std::string session_start;
  std::string last_event_id;          // newest event id at the snapshot ("0-0": none yet)
  std::vector<std::string> history;   // JSON entries, oldest first (only when asked)
  std::string owner;                  // user token of the person who owns it ("": nobody, the seed API)
  std::string title;                  // a conversation's title ("" until its first message)
  std::string leaf;                   // the active branch's last entry ("": the newest entry)
};

struct accept_outcome {
  // full: a conversation at max_conversation_messages; nothing stored.
  // conflict: a version frame's check no longer holds (the conversation changed); nothing stored.
  enum class kind { accepted, duplicate, rate_limited, full, conflict } type = kind::accepted;
  std::string id;                 // message id (accepted, duplicate)
  long long seq = 0;              // accepted; duplicate: the session's newest seq
  bool unanswered = false;        // duplicate: the session still has turns to answer
  long long retry_after_ms = 0;   // rate_limited
};

// What an edit, regenerate, continue or switch frame did (docs/protocol.md, "Versions").
struct version_outcome {
  // refused: `code` (message_not_found, invalid_target, reply_in_progress, bad_frame for a
  // version out of range) with `field` and `message` for the error frame.
  enum class kind { accepted, duplicate, rate_limited, full, switched, refused } type = kind::accepted;
  std::string id;                // accepted/duplicate: the id acked (the new message, or the message answered again)
  long long seq = 0;             // accepted; duplicate: the session's newest seq
  bool unanswered = false;       // duplicate
  long long retry_after_ms = 0;  // rate_limited
  api_errc code = api_errc::internal;
  std::string field;
  std::string message;
};

struct event_page {
  bool resync = false;  // events after `after` were trimmed (or `after` is unknown)
  std::vector<std::pair<std::string, std::string>> events;  // id, event JSON with its id
  std::string last_generated_id;  // the stream's newest id ("0-0": no stream)
  bool more = false;              // a full page: ask again from the last id
};

struct queue_sample {
  long long pending = 0;                        // delivered, not acknowledged
  protocol::stream_id last_delivered;           // the group's last-delivered-id (0-0: no group)
  std::vector<protocol::stream_id> waiting;     // entries not yet delivered, oldest first (at most cap)
  bool capped = false;                          // `waiting` was cut at cap
  long long depth() const { return pending + static_cast<long long>(waiting.size()); }
};

// What a stop did: `withdrawn` (no reply had started: the message left the history and the
// queue, a `message_withdrawn` event says so), `stopping` (the worker was told), `answered`
// (nothing to stop).
enum class stop_outcome { withdrawn, stopping, answered };

class session_store {
 public:
  session_store(redis::client& redis, const gateway_config& cfg)
      : redis_(redis), cfg_(cfg), streams_(cfg.request_shards) {}

  // The request shard of a session and its stream (keys::request_streams).
  int request_shard_of(std::string_view token) const noexcept { return streams_.shard_of(token); }
  const std::string& request_stream_of(std::string_view token) const { return streams_.stream_of(token); }
  int request_shards() const noexcept { return streams_.size(); }
  redis::client& redis() noexcept { return redis_; }

  net::awaitable<result<session_snapshot>> create(std::string name);
  // Slides the expiry; session_not_found when the session is gone or `owner` does not own it
  // ("" asks for a session nobody owns: the seed API's).
  net::awaitable<result<session_snapshot>> load(std::string token, bool with_history, std::string owner = {});
  // Runs the accept script; session_not_found when the session expired.
  net::awaitable<result<accept_outcome>> accept(std::string token, std::string text, std::string client_id);
  // Edit, regenerate, continue or switch: checks the target against the stored tree, then
  // writes with the accept or switch script, which refuses if the conversation changed
  // meanwhile (then it reads and checks again, a few times).
  net::awaitable<result<version_outcome>> request_version(std::string token, protocol::version_frame f);
  // With --redis-wait-replicas N: Redis WAIT on the node that serves `key`, after this gateway's
  // writes there; errc::unavailable when fewer than N replicas confirm within the timeout. A
  // no-op for N = 0.
  net::awaitable<boost::system::error_code> wait_replicas(const std::string& key);
  // Appends work for the workers (only for newly accepted messages); returns the entry's id.
  net::awaitable<result<std::string>> enqueue_request(std::string token, long long seq, std::string id);
  // Records the stop request and tells every worker.
  net::awaitable<boost::system::error_code> stop(std::string token, std::string message_id);
  // Events with ids after `after`, at most `count`.
  net::awaitable<result<event_page>> events_after(std::string token, std::string after, std::size_t count);
  // Request-queue depth over every shard: entries delivered and not acknowledged plus entries not
  // yet delivered, counting the undelivered ones up to `cap` per shard (scripts::queue_depth says
  // why not `lag`).
  net::awaitable<result<long long>> queue_depth(std::size_t cap);
  // The samples in full, one per shard in shard order: what queue positions are computed from.
  // One shard that cannot be read fails the whole sample.
  net::awaitable<result<std::vector<queue_sample>>> sample_queues(std::size_t cap);
  // Workers whose presence record is alive (docs/design.md, "Worker presence").
  net::awaitable<result<long long>> workers_alive();
  // Stop for a reply: withdraws the message instead when no reply to it has started (see
  // stop_outcome). `request_id`, when known, is its request entry, deleted from the queue then.
  net::awaitable<result<stop_outcome>> stop_or_withdraw(std::string token, std::string message_id,
                                                        std::string request_id);

 private:
  struct accept_turn;
  net::awaitable<result<accept_outcome>> run_accept(std::string token, std::string text, std::string client_id,
                                                    const accept_turn& turn);

  net::awaitable<result<queue_sample>> sample_queue(int shard, std::size_t cap);
  redis::client& redis_;
  const gateway_config& cfg_;
  keys::request_streams streams_;
};

}  // namespace parley::gateway
