#pragma once
// Lua scripts of a person and their conversations (docs/design.md, "Conversations"). Each script
// touches the keys of ONE hash tag: a person's (`{user}`: user_keys) or one conversation's
// (`{token}`: the session keys). Nothing here mixes the two, so every script runs unchanged on
// Redis Cluster; an operation that needs both runs one script per side, person first.
#include <parley/keys.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace parley::gateway::conversation_scripts {

inline std::vector<std::string> user_keys(std::string_view user) {
  return {keys::user(user), keys::user_conversations(user)};
}

// Every key a conversation has (the session keys of docs/design.md), for deletion.
inline std::vector<std::string> all_conversation_keys(std::string_view token) {
  return {keys::session(token), keys::history(token), keys::dedupe(token), keys::events(token),
          keys::rate(token),    keys::lease(token),   keys::attempts(token), keys::stop(token)};
}

// KEYS user_keys. ARGV ttl_s. 1 and the expiry slid when the person exists, else 0.
inline constexpr std::string_view user_touch = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS user_keys. ARGV ttl_s, token, now_ms, cap. Adds the conversation to the person's list:
// 'ok', 'no_user', or 'full' when the list holds `cap` conversations already.
inline constexpr std::string_view user_add = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 'no_user' end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'full' end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 'ok'
)lua";

// KEYS user_keys. ARGV ttl_s, token, now_ms. A message was sent: the conversation moves to the
// top of the list (only if listed), and the person's expiry slides.
inline constexpr std::string_view user_activity = R"lua(
redis.call('ZADD', KEYS[2], 'XX', 'GT', ARGV[3], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
)lua";

// KEYS user_keys. ARGV ttl_s, limit, cursor_score ("" = from the newest), cursor_token. The next
// `limit + 1` conversations after the cursor, newest activity first: a flat {token, score, ...}.
// Order is (score desc, token desc), as ZRANGE REV sorts ties; the cursor is the last entry a
// page showed, so entries moving meanwhile are never shown twice on one walk down the list
// (one that moved to the top is simply not met again). nil when the person does not exist.
inline constexpr std::string_view user_page = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
local want = tonumber(ARGV[2]) + 1
local max = '+inf'
local cursor = nil
if ARGV[3] ~= '' then
  max = ARGV[3]
  cursor = tonumber(ARGV[3])
end
local out = {}
local offset = 0
while #out < 2 * want do
  local chunk = redis.call('ZRANGE', KEYS[2], max, '-inf', 'BYSCORE', 'REV', 'LIMIT', offset, want, 'WITHSCORES')
  if #chunk == 0 then break end
  for i = 1, #chunk, 2 do
    local token, score = chunk[i], chunk[i + 1]
    if #out < 2 * want and (cursor == nil or tonumber(score) < cursor or token < ARGV[4]) then
      out[#out + 1] = token
      out[#out + 1] = score
    end
  end
  offset = offset + #chunk / 2
end
return out
)lua";

// KEYS user_keys. ARGV tokens... Forgets conversations that turned out to be gone.
inline constexpr std::string_view user_forget = R"lua(
return redis.call('ZREM', KEYS[2], unpack(ARGV))
)lua";

// KEYS session, history. ARGV owner. What the list shows of one conversation, without sliding
// its expiry (listing is not using it): nil when gone or not the owner's, else
// {title, session_start, message count, last two history entries}.
inline constexpr std::string_view summary = R"lua(
local s = redis.call('HMGET', KEYS[1], 'owner', 'title', 'session_start')
if s[1] ~= ARGV[1] then return false end
return {s[2] or '', s[3] or '', redis.call('LLEN', KEYS[2]), redis.call('LRANGE', KEYS[2], -2, -1)}
)lua";

// KEYS session, history, dedupe, events, rate. ARGV owner, title. Renames (and slides the
// expiry): 1, or 0 when gone or not the owner's.
inline constexpr std::string_view rename = R"lua(
local s = redis.call('HMGET', KEYS[1], 'owner', 'ttl')
if s[1] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'title', ARGV[2], 'title_set', '1')
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], s[2]) end
return 1
)lua";

// KEYS all_conversation_keys. ARGV owner, notify channel. Deletes every key of the conversation
// and tells its sockets (the hub closes them with 4004). Returns nil when gone or not the
// owner's, else the id of the user message being answered ("" when none), whose reply the
// caller then stops on parley:stop (the stop channel is not a key of this slot).
inline constexpr std::string_view remove = R"lua(
local s = redis.call('HMGET', KEYS[1], 'owner', 'next_seq', 'done_seq')
if s[1] ~= ARGV[1] then return false end
local running = ''
local want = (tonumber(s[3]) or 0) + 1
if want <= (tonumber(s[2]) or 0) then
  for _, raw in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local ok, m = pcall(cjson.decode, raw)
    if ok and type(m) == 'table' and m.source == 'human' and tonumber(m.seq) == want then running = m.id end
  end
end
redis.call('DEL', unpack(KEYS))
redis.call('SPUBLISH', ARGV[2], '{"type":"conversation_deleted"}')
return running
)lua";

// The payload `remove` publishes on the notify channel: not an event (it has no id), the hub
// recognises it by its exact text.
inline constexpr std::string_view deleted_notice = R"({"type":"conversation_deleted"})";

}  // namespace parley::gateway::conversation_scripts
