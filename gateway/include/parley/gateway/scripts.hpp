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
// notify_channel, title (the text as a title), max_messages, kind, expect, parent, parent_seq,
// target, reply_to, version, versions. Returns {"expired"} | {"duplicate", id, unanswered (0/1),
// next_seq} | {"full"} | {"rate_limited", retry_after_ms} | {"conflict"} | {"accepted", id, seq}.
// `unanswered` lets the gateway queue a request again on a resend, so a message stored just
// before an outage is never stranded. A conversation a person owns keeps its own ttl (session
// hash field `ttl`), is refused once a turn would take it over max_messages (each turn writes at
// most two entries), and takes its title from its first message unless renamed.
// kind (docs/design.md, "Message versions"):
// - "message": a new message; it follows the active branch's leaf (or, in a session written
//   before versions, the newest entry), and when that is a message still waiting for its reply,
//   the reply of turn `leaf_turn`. The id is the stream id of its `message` event.
// - "edit": a new version of message `target`, stored after `parent` / `parent_seq` (the
//   edited message's placement); its `message` event carries edit_of, version, versions.
// - "regenerate", "continue": a new turn answering message `reply_to` again (continue: starting
//   from reply `target`'s text), recorded in the session hash (`turn_seq`, `turn`) for the
//   worker; a `reply_requested` event says so; the returned id is `reply_to`.
// Every kind but "message" passes `expect` ("next_seq|done_seq|leaf|history length", as the
// gateway read them when it checked the target): anything else means the conversation changed
// since, and nothing is written ({"conflict"}). Every kind moves the leaf to what it wrote.
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
local kind = ARGV[12]
if ARGV[13] ~= '' then
  local st = redis.call('HMGET', KEYS[1], 'next_seq', 'done_seq', 'leaf')
  local seen = (st[1] or '0') .. '|' .. (st[2] or '0') .. '|' .. (st[3] or '') .. '|' .. redis.call('LLEN', KEYS[2])
  if seen ~= ARGV[13] then
    touch()
    return {'conflict'}
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
local result_id
local event
if kind == 'message' or kind == 'edit' then
  local parent, parent_seq = ARGV[14], tonumber(ARGV[15])
  if kind == 'message' then
    local at = redis.call('HMGET', KEYS[1], 'leaf', 'leaf_turn')
    parent, parent_seq = at[1], tonumber(at[2] or '')
    if not parent then
      local newest = redis.call('LINDEX', KEYS[2], -1)
      if newest then
        local ok, m = pcall(cjson.decode, newest)
        if ok and type(m) == 'table' and type(m.id) == 'string' then
          parent = m.id
          if m.source == 'human' then parent_seq = tonumber(m.seq) end
        end
      end
    end
  end
  if parent_seq == 0 then parent_seq = nil end
  event = {type = 'message', source = 'human', msg = ARGV[6], timestamp = ARGV[7], seq = seq}
  if kind == 'edit' then
    event.edit_of = ARGV[16]
    event.version = tonumber(ARGV[18])
    event.versions = tonumber(ARGV[19])
  end
  if client_id ~= '' then event.client_id = client_id end
  result_id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'e', cjson.encode(event))
  local stored = {id = result_id, source = 'human', msg = ARGV[6], timestamp = ARGV[7], seq = seq, parent = parent or ''}
  if parent_seq then stored.parent_seq = parent_seq end
  -- An edit remembers the branch shown before it, for a stop that withdraws it.
  if kind == 'edit' then stored.prev_leaf = redis.call('HGET', KEYS[1], 'leaf') or '' end
  redis.call('RPUSH', KEYS[2], cjson.encode(stored))
  redis.call('HSET', KEYS[1], 'leaf', result_id, 'leaf_turn', seq)
  if kind == 'message' and meta[1] and meta[4] ~= '1' and (meta[3] or '') == '' then
    redis.call('HSET', KEYS[1], 'title', ARGV[10])
  end
  event.message_id = result_id
else
  local record = {kind = kind, reply_to = ARGV[17], prev_leaf = redis.call('HGET', KEYS[1], 'leaf') or ''}
  if kind == 'continue' then record.from = ARGV[16] end
  redis.call('HSET', KEYS[1], 'turn_seq', seq, 'turn', cjson.encode(record), 'leaf', ARGV[17], 'leaf_turn', seq)
  event = {type = 'reply_requested', kind = kind, reply_to = ARGV[17], message_id = ARGV[16], seq = seq}
  if client_id ~= '' then event.client_id = client_id end
  event.id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*', 'e', cjson.encode(event))
  result_id = ARGV[17]
end
if client_id ~= '' then redis.call('HSET', KEYS[3], client_id, result_id) end
if event.id == nil then event.id = result_id end
redis.call('SPUBLISH', ARGV[9], cjson.encode(event))
touch()
return {'accepted', result_id, seq}
)lua";

// ARGV: ttl_s, expect (as for accept), leaf, event_maxlen, notify_channel, message_id, version,
// versions. Shows another version: the leaf moves to `leaf` (the end of what follows version
// `version` of `message_id`) and a `branch` event says so. Returns {"expired"} | {"conflict"} |
// {"switched", event id}.
inline constexpr std::string_view switch_branch = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {'expired'} end
local ttl = redis.call('HGET', KEYS[1], 'ttl') or ARGV[1]
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], ttl) end
local st = redis.call('HMGET', KEYS[1], 'next_seq', 'done_seq', 'leaf')
local seen = (st[1] or '0') .. '|' .. (st[2] or '0') .. '|' .. (st[3] or '') .. '|' .. redis.call('LLEN', KEYS[2])
if seen ~= ARGV[2] then return {'conflict'} end
redis.call('HSET', KEYS[1], 'leaf', ARGV[3])
redis.call('HDEL', KEYS[1], 'leaf_turn')
local event = {type = 'branch', leaf = ARGV[3], message_id = ARGV[6], version = tonumber(ARGV[7]),
               versions = tonumber(ARGV[8])}
local id = redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'e', cjson.encode(event))
event.id = id
redis.call('SPUBLISH', ARGV[5], cjson.encode(event))
return {'switched', id}
)lua";

// ARGV: ttl_s, with_history ("1"/"0"), owner ("" for a session nobody owns). Slides the expiry
// (by the session's own `ttl` when it has one). Returns nil for no session, or one whose owner
// is not `owner` (so a conversation of a person is invisible to the seed API and to anyone else),
// else {name, session_start, last_event_id ("0-0" when none), history entries (when asked),
// title, leaf ("" when none)}; the history and the id are one atomic snapshot, so resuming
// from that id misses nothing.
inline constexpr std::string_view load = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local s = redis.call('HMGET', KEYS[1], 'name', 'session_start', 'owner', 'ttl', 'title', 'leaf')
if (s[3] or '') ~= ARGV[3] then return false end
for i = 1, 5 do redis.call('EXPIRE', KEYS[i], s[4] or ARGV[1]) end
local newest = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #newest > 0 then last_id = newest[1][1] end
local history = {}
if ARGV[2] == '1' then history = redis.call('LRANGE', KEYS[2], 0, -1) end
return {s[1] or '', s[2] or '', last_id, history, s[5] or '', s[6] or ''}
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
// request later finds nothing to answer), messages sent after it while it waited follow what it
// followed, the branch shown before it is shown again (an edit's `prev_leaf`), and a
// `message_withdrawn` event is appended and published. A queued regenerate or
// continue turn for the message is withdrawn the same way when nothing was queued after it: its
// record goes, the leaf returns to where it was, and a `reply_withdrawn` event says so. Returns
// 'withdrawn', 'answered' (nothing to stop), or 'stop' (a reply may be running, or the turn waits
// behind another: the caller stops it the usual way).
inline constexpr std::string_view withdraw = R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return 'answered' end
local st = redis.call('HMGET', KEYS[1], 'done_seq', 'next_seq', 'turn_seq', 'turn', 'leaf', 'leaf_turn')
local done = tonumber(st[1] or '0') or 0
local next_seq = tonumber(st[2] or '0') or 0
local function publish(event)
  local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*', 'e', cjson.encode(event))
  event.id = id
  redis.call('SPUBLISH', ARGV[3], cjson.encode(event))
end
local turn_seq = tonumber(st[3] or '')
if turn_seq and turn_seq > done and st[4] then
  local ok, t = pcall(cjson.decode, st[4])
  if ok and type(t) == 'table' and t.reply_to == ARGV[1] then
    if turn_seq ~= done + 1 or next_seq > turn_seq or redis.call('EXISTS', KEYS[5]) == 1 or
        redis.call('HEXISTS', KEYS[4], tostring(turn_seq)) == 1 then
      return 'stop'
    end
    redis.call('HDEL', KEYS[1], 'turn_seq', 'turn', 'leaf_turn')
    redis.call('HSET', KEYS[1], 'done_seq', turn_seq)
    if st[5] == ARGV[1] then
      if (t.prev_leaf or '') ~= '' then redis.call('HSET', KEYS[1], 'leaf', t.prev_leaf) else redis.call('HDEL', KEYS[1], 'leaf') end
    end
    publish({type = 'reply_withdrawn', reply_to = ARGV[1], seq = turn_seq, leaf = t.prev_leaf or ''})
    return 'withdrawn'
  end
end
local raw, seq, index, withdrawn = nil, nil, nil, nil
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
for i = #entries, 1, -1 do
  local ok, m = pcall(cjson.decode, entries[i])
  if ok and type(m) == 'table' and m.id == ARGV[1] and m.source == 'human' then
    raw, seq, index, withdrawn = entries[i], tonumber(m.seq), i, m
    break
  end
end
if raw == nil or seq == nil then return 'stop' end
if done >= seq then return 'answered' end
if seq ~= done + 1 or redis.call('EXISTS', KEYS[5]) == 1 or redis.call('HEXISTS', KEYS[4], tostring(seq)) == 1 then
  return 'stop'
end
for i = index + 1, #entries do
  local ok, m = pcall(cjson.decode, entries[i])
  if ok and type(m) == 'table' and m.source == 'human' and m.parent == ARGV[1] then
    m.parent = withdrawn.parent
    m.parent_seq = withdrawn.parent_seq
    redis.call('LSET', KEYS[2], i - 1, cjson.encode(m))
  end
end
if st[5] == ARGV[1] and withdrawn.prev_leaf then
  -- A withdrawn edit gives back the branch shown before it.
  if withdrawn.prev_leaf ~= '' then redis.call('HSET', KEYS[1], 'leaf', withdrawn.prev_leaf) else redis.call('HDEL', KEYS[1], 'leaf') end
  redis.call('HDEL', KEYS[1], 'leaf_turn')
elseif st[5] == ARGV[1] then
  if withdrawn.parent and withdrawn.parent ~= '' then
    redis.call('HSET', KEYS[1], 'leaf', withdrawn.parent)
    if withdrawn.parent_seq then redis.call('HSET', KEYS[1], 'leaf_turn', withdrawn.parent_seq) else redis.call('HDEL', KEYS[1], 'leaf_turn') end
  else
    redis.call('HDEL', KEYS[1], 'leaf', 'leaf_turn')
  end
end
redis.call('LREM', KEYS[2], 1, raw)
redis.call('HSET', KEYS[1], 'done_seq', seq)
publish({type = 'message_withdrawn', message_id = ARGV[1], seq = seq})
return 'withdrawn'
)lua";

}  // namespace parley::gateway::scripts
