#pragma once
// A person and the conversations they own, in Redis (docs/design.md, "Conversations"). A
// conversation is a session (session_store) whose hash names its owner and keeps its own ttl;
// the person's sorted set lists their conversations by last activity. Each operation runs one
// script per hash tag, the person's first (it proves the person exists), so nothing crosses
// slots; when the second step fails the list may name a conversation that is gone, which the
// next listing notices and forgets.
// Errors: errc::user_not_found, session_not_found (gone or another person's: never told apart),
// too_many_conversations, unavailable, bad_reply.
// Thread-safety: stateless apart from the shared redis::client, which is thread-safe.
#include <parley/gateway/config.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/redis/client.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <vector>

namespace parley::gateway {

struct conversation_summary {
  std::string token;
  std::string title;
  std::string created;     // ISO 8601 (the session's session_start)
  std::string updated;     // ISO 8601: last activity (created, or the newest message sent)
  long long messages = 0;  // history entries: the person's messages and the replies
  std::string preview;     // start of the newest message with text ("" for none)
};

struct conversation_page {
  std::vector<conversation_summary> items;
  std::optional<std::string> next_cursor;  // nullopt: this was the last page
};

// A listing position: the last entry a page showed ("SCORE:TOKEN", opaque to clients).
struct list_cursor {
  std::string score;
  std::string token;
  static std::optional<list_cursor> parse(std::string_view text);
  std::string str() const { return score + ":" + token; }
};

class conversation_store {
 public:
  conversation_store(redis::client& redis, session_store& sessions, const gateway_config& cfg)
      : redis_(redis), sessions_(sessions), cfg_(cfg) {}

  static constexpr std::size_t preview_chars = 120;

  // A new person; returns the user token.
  net::awaitable<result<std::string>> create_user();
  // Slides the person's expiry; user_not_found when there is no such person.
  net::awaitable<boost::system::error_code> touch_user(std::string user);
  // A new conversation of `user`, named `name` (what POST /token's name is to a session).
  net::awaitable<result<session_snapshot>> create(std::string user, std::string name);
  net::awaitable<result<conversation_page>> list(std::string user, std::optional<list_cursor> cursor,
                                                 std::size_t limit);
  // The conversation with its history (what GET /refresh_token returns).
  net::awaitable<result<session_snapshot>> get(std::string user, std::string token);
  net::awaitable<boost::system::error_code> rename(std::string user, std::string token, std::string title);
  // Deletes every key, stops the reply being generated, closes its sockets (4004, via the hub).
  net::awaitable<boost::system::error_code> remove(std::string user, std::string token);
  // A message was sent in the conversation: it moves to the top of the person's list.
  net::awaitable<boost::system::error_code> activity(std::string user, std::string token);

 private:
  // Forgets listed conversations that are gone (expired, or half-created).
  net::awaitable<void> forget(const std::string& user, std::vector<std::string> tokens);
  // At the cap: checks the oldest listed conversations and forgets those that expired. True
  // when any went.
  net::awaitable<bool> prune_expired(const std::string& user);

  redis::client& redis_;
  session_store& sessions_;
  const gateway_config& cfg_;
};

}  // namespace parley::gateway
