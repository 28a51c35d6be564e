#pragma once
// Every Redis key and channel name Parley uses, in one place. Keys of one session share the hash
// tag `{token}` so that Lua scripts may touch them together and Redis Cluster keeps them in one
// slot. See docs/design.md for what each holds.
#include <string>
#include <string_view>
#include <vector>

namespace parley::keys {

inline std::string session_key(std::string_view token, std::string_view suffix) {
  std::string k;
  k.reserve(10 + token.size() + suffix.size());
  k.append("parley:{").append(token).append("}:").append(suffix);
  return k;
}

inline std::string session(std::string_view token) { return session_key(token, "session"); }
inline std::string history(std::string_view token) { return session_key(token, "history"); }
inline std::string dedupe(std::string_view token) { return session_key(token, "dedupe"); }
inline std::string events(std::string_view token) { return session_key(token, "events"); }
inline std::string rate(std::string_view token) { return session_key(token, "rate"); }
inline std::string lease(std::string_view token) { return session_key(token, "lease"); }
inline std::string attempts(std::string_view token) { return session_key(token, "attempts"); }
inline std::string stop(std::string_view token) { return session_key(token, "stop"); }
inline std::string notify_channel(std::string_view token) { return session_key(token, "notify"); }

// A person's keys share the hash tag `{user token}`, so their scripts stay in one slot too.
inline std::string user_key(std::string_view user, std::string_view suffix) {
  std::string k;
  k.reserve(16 + user.size() + suffix.size());
  k.append("parley:user:{").append(user).append("}");
  if (!suffix.empty()) k.append(":").append(suffix);
  return k;
}
inline std::string user(std::string_view user) { return user_key(user, ""); }
// Sorted set: conversation token -> last activity (epoch milliseconds).
inline std::string user_conversations(std::string_view user) { return user_key(user, "conversations"); }

inline constexpr std::string_view requests_stream = "parley:requests";
// REQUEST_SHARDS (docs/design.md, "Request shards"): the queue split into `shards` streams, each
// with its own consumer group. One shard is `parley:requests`, the name from before shards. Shard
// i of n is `parley:requests:{<tag>}`, its tag chosen so that its slot lies in the i-th n-th of
// the slot range: on a cluster whose masters hold equal slot ranges (what `redis-cli --cluster
// create` makes), n = masters puts one shard on each. A session's shard is the n-th of the slot
// range its own keys hash to, so it never changes and the session's messages keep their order.
inline constexpr int max_request_shards = 64;
class request_streams {
 public:
  // 1 <= shards <= max_request_shards (else std::out_of_range; configs validate it first).
  explicit request_streams(int shards);
  int size() const noexcept { return static_cast<int>(names_.size()); }
  const std::string& stream(int shard) const { return names_.at(static_cast<std::size_t>(shard)); }
  int shard_of(std::string_view token) const noexcept;
  const std::string& stream_of(std::string_view token) const { return stream(shard_of(token)); }

 private:
  std::vector<std::string> names_;
};
// Holds the shard count every gateway and worker must share; the first to start writes it.
inline constexpr std::string_view request_shards_key = "parley:request_shards";
inline constexpr std::string_view workers_group = "parley-workers";
inline constexpr std::string_view deadletter_stream = "parley:deadletter";
inline constexpr std::string_view stop_channel = "parley:stop";
// Sorted set: worker consumer name -> epoch ms until which it counts as alive (each worker
// renews its own every presence_ttl / 3 and removes it when it stops).
inline constexpr std::string_view workers_presence = "parley:workers";

// Field names of the session hash.
namespace field {
inline constexpr std::string_view name = "name";
inline constexpr std::string_view session_start = "session_start";
inline constexpr std::string_view next_seq = "next_seq";
inline constexpr std::string_view done_seq = "done_seq";
// Only in conversations a person owns (docs/design.md, "Conversations").
inline constexpr std::string_view owner = "owner";          // the owner's user token
inline constexpr std::string_view title = "title";          // "" until the first message
inline constexpr std::string_view title_set = "title_set";  // "1" once renamed: messages no longer set it
inline constexpr std::string_view ttl = "ttl";              // seconds every use slides the expiry to
// Message versions (docs/design.md, "Message versions").
inline constexpr std::string_view leaf = "leaf";            // id of the active branch's last entry
inline constexpr std::string_view leaf_turn = "leaf_turn";  // leaf is a message: the turn that answers it
inline constexpr std::string_view turn_seq = "turn_seq";    // the one queued regenerate/continue turn
inline constexpr std::string_view turn = "turn";            // its record: {kind, reply_to, from?, prev_leaf}
}  // namespace field

}  // namespace parley::keys
