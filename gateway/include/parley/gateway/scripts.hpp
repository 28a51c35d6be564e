#pragma once
// The gateway's Lua scripts (docs/design.md, "Accepting a user message"). Each touches only keys
// of one session, all passed in KEYS, so they run unchanged on Redis Cluster.
// KEYS for all three: session, history, dedupe, events, rate (see session_keys()).
#include <parley/keys.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace parley::gateway::scripts {

inline std::vector<std::string> session_keys(std::string_view token) {
  return {keys::session(token), keys::history(token), keys::dedupe(token), keys::events(token),
          keys::rate(token)};
}

// ARGV: now_ms, ttl_s, burst, refill_per_s, client_id ("" = none), text, timestamp, event_maxlen,
// notify_channel, title (the text as a title), max_messages. Returns {"expired"} |
// {"duplicate", id, unanswered (0/1), next_seq} | {"full"} | {"rate_limited", retry_after_ms} |
// {"accepted", id, seq}. The message id is the stream id of its `message` event. `unanswered`
// lets the gateway queue a request again on a resend, so a message stored just before an outage
// is never stranded. A conversation a person owns keeps its own ttl (session hash field `ttl`),
// is refused once the message and its reply would take it over max_messages, and takes its
// title from its first message unless renamed.
inline constexpr std::string_view accept = R"lua(
local now = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return {'expired'} end
local meta = redis.call('HMGET', KEYS[1], 'owner', 'ttl', 'title', 'title_set')
local ttl = meta[2] or ARGV[2]
local function touch()
  for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
end
local client_id = ARGV[5]
if client_id ~= '' then
  local known = redis.call('HGET', KEYS[3], client_id)
  if known then
    touch()
    local seqs = redis.call('HMGET', KEYS[1], 'next_seq', 'done_seq')
    local next_seq = tonumber(seqs[1]) or 0
    local unanswered = 0
    if next_seq > (tonumber(seqs[2]) or 0) then unanswered = 1 end
    return {'duplicate', known, unanswered, next_seq}
  end
end
if meta[1] then
  local asked = tonumber(redis.call('HGET', KEYS[1], 'next_seq') or '0') or 0
  if 2 * (asked + 1) > tonumber(ARGV[11]) then
    touch()
    return {'full'}
  end
end
local burst = tonumber(ARGV[3])
local refill = tonumber(ARGV[4])
local bucket = redis.call('HMGET', KEYS[5], 'tokens', 'ts_ms')
local tokens = tonumber(bucket[1]) or burst
local last = tonumber(bucket[2]) or now
if now > last then
  tokens = math.min(burst, tokens + (now - last) * refill / 1000)
  last = now
end
if tokens < 1 then
  redis.call('HSET', KEYS[5], 'tokens', tostring(tokens), 'ts_ms', tostring(last))
  touch()
  return {'rate_limited', tostring(math.ceil((1 - tokens) * 1000 / refill))}
end
redis.call('HSET', KEYS[5], 'tokens', tostring(tokens - 1), 'ts_ms', tostring(last))
local seq = redis.call('HINCRBY', KEYS[1], 'next_seq', 1)
local event = {type = 'message', source = 'human', msg = ARGV[6], timestamp = ARGV[7], seq = seq}
if client_id ~= '' then event.client_id = client_id end
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'e', cjson.encode(event))
redis.call('RPUSH', KEYS[2], cjson.encode({id = id, source = 'human', msg = ARGV[6], timestamp = ARGV[7], seq = seq}))
if client_id ~= '' then redis.call('HSET', KEYS[3], client_id, id) end
if meta[1] and meta[4] ~= '1' and (meta[3] or '') == '' then redis.call('HSET', KEYS[1], 'title', ARGV[10]) end
event.id = id
event.message_id = id
redis.call('SPUBLISH', ARGV[9], cjson.encode(event))
touch()
return {'accepted', id, seq}
)lua";

// ARGV: ttl_s, with_history ("1"/"0"), owner ("" for a session nobody owns). Slides the expiry
// (by the session's own `ttl` when it has one). Returns nil for no session, or one whose owner
// is not `owner` (so a conversation of a person is invisible to the seed API and to anyone else),
// else {name, session_start, last_event_id ("0-0" when none), history entries (when asked),
// title}; the history and the id are one atomic snapshot, so resuming from that id misses nothing.
inline constexpr std::string_view load = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local s = redis.call('HMGET', KEYS[1], 'name', 'session_start', 'owner', 'ttl', 'title')
if (s[3] or '') ~= ARGV[3] then return false end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], s[4] or ARGV[1]) end
local newest = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #newest > 0 then last_id = newest[1][1] end
local history = {}
if ARGV[2] == '1' then history = redis.call('LRANGE', KEYS[2], 0, -1) end
return {s[1] or '', s[2] or '', last_id, history, s[5] or ''}
)lua";

// KEYS: the request stream. ARGV: group, cap. Returns {pending, last_delivered_id, ids}: the
// number of entries delivered to a consumer and not acknowledged (the group's PEL), the group's
// last-delivered-id ("0-0" without the group), and the ids of the entries after it, oldest first
// (at most `cap`): those wait for a worker, and a message's place in the queue is its rank among
// them. The group's `lag` is not used: Redis 7.0 does not restore `entries-read` when it replays
// reads made after an AOF rewrite, so after a restart `lag` can report entries that were read
// long ago, and nothing ever corrects it. Without the group (no worker started yet), every
// entry of the stream waits.
inline constexpr std::string_view queue_depth = R"lua(
local cap = tonumber(ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, '0-0', {}} end
local last = nil
local pending = 0
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = {}
  for i = 1, #g, 2 do f[g[i]] = g[i + 1] end
  if f['name'] == ARGV[1] then
    last = f['last-delivered-id']
    pending = f['pending']
  end
end
local from = '-'
if last == nil then last = '0-0' else from = '(' .. last end
local ids = {}
for _, e in ipairs(redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', cap)) do ids[#ids + 1] = e[1] end
return {pending, last, ids}
)lua";

// KEYS: session, history, events, attempts, lease. ARGV: message_id, event_maxlen, notify_channel.
// A stop for a message no reply has started to: when it is the session's next turn
// (done_seq == seq - 1), no worker holds the lease and no attempt was counted, the message is
// withdrawn atomically: its history entry goes, done_seq moves past it (a worker reading its
// request later finds nothing to answer), and a `message_withdrawn` event is appended and
// published. Returns 'withdrawn', 'answered' (done_seq >= seq: nothing to stop), or 'stop' (a
// reply may be running, or the message waits behind another: the caller stops it the usual way).
inline constexpr std::string_view withdraw = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 'answered' end
local done = tonumber(redis.call('HGET', KEYS[1], 'done_seq') or '0') or 0
local raw, seq = nil, nil
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #entries, 1, -1 do
  local ok, m = pcall(cjson.decode, entries[i])
  if ok and type(m) == 'table' and m.id == ARGV[1] and m.source == 'human' then
    raw, seq = entries[i], tonumber(m.seq)
    break
  end
end
if raw == nil or seq == nil then return 'stop' end
if done >= seq then return 'answered' end
if seq ~= done + 1 or redis.call('EXISTS', KEYS[5]) == 1 or redis.call('HEXISTS', KEYS[4], tostring(seq)) == 1 then
  return 'stop'
end
redis.call('LREM', KEYS[2], 1, raw)
redis.call('HSET', KEYS[1], 'done_seq', seq)
local event = {type = 'message_withdrawn', message_id = ARGV[1], seq = seq}
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'e', cjson.encode(event))
event.id = id
redis.call('SPUBLISH', ARGV[3], cjson.encode(event))
return 'withdrawn'
)lua";

}  // namespace parley::gateway::scripts
