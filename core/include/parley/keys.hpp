#pragma once
// Every Redis key and channel name Parley uses, in one place. Keys of one session share the hash
// tag `{token}` so that Lua scripts may touch them together and Redis Cluster keeps them in one
// slot. See docs/design.md for what each holds.
#include <string>
#include <string_view>

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
