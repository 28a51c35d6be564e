#include <parley/worker/scripts.hpp>

namespace parley::worker::scripts {

namespace {

// The published copy of an event carries its stream id: `{"id":"<id>",` + the event without
// its opening brace (events are never empty objects).
constexpr const char* append_event = R"lua(
local function append_event(events_key, retention, channel, json)
  local id = redis.call('XADD', events_key, 'MAXLEN', '~', retention, '*', 'e', json)
  redis.call('SPUBLISH', channel, '{"id":"' .. id .. '",' .. string.sub(json, 2))
  return id
end
)lua";

// A person's conversation keeps its own expiry (session hash field `ttl`, in seconds, written by
// the gateway): worker output must slide it by that, never cut it to the worker's session ttl.
constexpr const char* session_ttl = R"lua(
local function session_ttl_ms(session_key, default_ms)
  local own = tonumber(redis.call('HGET', session_key, 'ttl') or '')
  if own then return own * 1000 end
  return default_ms
end
)lua";

std::string with_helpers(const char* body) { return std::string(append_event) + session_ttl + body; }

}  // namespace

const redis::script& emit() {
  static const redis::script s(with_helpers(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local ids = {}
for i = 5, #ARGV do ids[#ids + 1] = append_event(KEYS[2], ARGV[2], ARGV[3], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], session_ttl_ms(KEYS[3], ARGV[4]))
return ids
)lua"));
  return s;
}

const redis::script& begin_attempt() {
  static const redis::script s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
if redis.call('EXISTS', KEYS[3]) == 0 then return {-2} end
local done = tonumber(redis.call('HGET', KEYS[3], 'done_seq') or '0') or 0
if done >= tonumber(ARGV[2]) then return {-2} end
local n = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {n, redis.call('HGET', KEYS[2], ARGV[2] .. ':error'), redis.call('GET', KEYS[4])}
)lua");
  return s;
}

const redis::script& heartbeat() {
  static const redis::script s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0, redis.call('GET', KEYS[2])} end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, redis.call('GET', KEYS[2])}
)lua");
  return s;
}

const redis::script& complete() {
  static const redis::script s(with_helpers(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end
local seq = tonumber(ARGV[2])
local done = tonumber(redis.call('HGET', KEYS[2], 'done_seq') or '0') or 0
if done ~= seq - 1 then return 0 end
redis.call('RPUSH', KEYS[3], ARGV[4])
redis.call('HSET', KEYS[2], 'done_seq', seq)
local at = redis.call('HMGET', KEYS[2], 'leaf', 'leaf_turn', 'turn_seq')
if at[1] == ARGV[3] and tonumber(at[2] or '') == seq then
  redis.call('HSET', KEYS[2], 'leaf', ARGV[9])
  redis.call('HDEL', KEYS[2], 'leaf_turn')
end
if tonumber(at[3] or '') == seq then redis.call('HDEL', KEYS[2], 'turn_seq', 'turn') end
redis.call('HDEL', KEYS[5], ARGV[2], ARGV[2] .. ':error')
if redis.call('GET', KEYS[6]) == ARGV[3] then redis.call('DEL', KEYS[6]) end
append_event(KEYS[4], ARGV[6], ARGV[7], ARGV[5])
local ttl = session_ttl_ms(KEYS[2], ARGV[8])
for i = 2, 7 do
  if i ~= 6 then redis.call('PEXPIRE', KEYS[i], ttl) end
end
if (tonumber(redis.call('HGET', KEYS[2], 'next_seq') or '0') or 0) > seq then return 1 end
redis.call('DEL', KEYS[1])
return 2
)lua"));
  return s;
}

const redis::script& release() {
  static const redis::script s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local v = redis.call('HMGET', KEYS[2], 'next_seq', 'done_seq')
if (tonumber(v[1]) or 0) > (tonumber(v[2]) or 0) then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua");
  return s;
}

const redis::script& drop_lease() {
  static const redis::script s(R"lua(
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
)lua");
  return s;
}

const redis::script& maintain_queue() {
  static const redis::script s(R"lua(
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, 0} end
local function fields(flat)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  return f
end
local last = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local f = fields(g)
  if f['name'] == ARGV[1] then last = f['last-delivered-id'] end
end
if last == nil then return {0, 0} end
local removed = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = fields(c)
  if f['pending'] == 0 and f['idle'] >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    removed = removed + 1
  end
end
local keep_from = last
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[1] > 0 then keep_from = pending[2] end
return {redis.call('XTRIM', KEYS[1], 'MINID', keep_from), removed}
)lua");
  return s;
}

}  // namespace parley::worker::scripts
