#pragma once
// The Lua scripts of the delivery protocol (docs/design.md, "Answering"). Every script that
// writes a session's keys first checks that the caller still holds the session lease, so a
// worker that lost its lease (paused, partitioned) can never write into a turn another worker
// has taken over.
#include <parley/redis/client.hpp>

namespace parley::worker::scripts {

// KEYS lease, events, session; ARGV owner, retention, notify channel, ttl_ms, event json...
// (ttl_ms, here and below, gives way to the session's own `ttl` field when it has one.)
// Appends each event and publishes it with its stream id spliced in. Returns the ids, or 0 if
// not the owner.
const redis::script& emit();

// KEYS lease, attempts, session, stop; ARGV owner, seq, ttl_ms.
// Counts a new attempt at answering `seq`. Returns {-1} if not the owner, {-2} if `seq` is
// already answered or the session is gone (deleted: nothing is created for it), else
// {attempt, last_error|nil, stop_value|nil}.
const redis::script& begin_attempt();

// KEYS lease, stop; ARGV owner, ttl_ms. Renews the lease if ours: {1|0, stop_value|nil}.
const redis::script& heartbeat();

// KEYS lease, session, history, events, attempts, stop, dedupe; ARGV owner, seq, reply_to,
// history entry json, final event json, retention, notify channel, ttl_ms.
// Stores the bot reply only if it is the next one (done_seq == seq-1): exactly one reply per
// user message. When that answered every message, the lease is released in the same step (as
// release() would). Returns 2 stored and released, 1 stored (more messages wait), 0 not the next
// seq, -1 not the owner, -2 session gone.
const redis::script& complete();

// KEYS lease, session; ARGV owner. Deletes the lease only if ours and every message is
// answered (done_seq == next_seq). Returns 1 released, 0 more work arrived, -1 not the owner.
const redis::script& release();

// KEYS lease; ARGV owner. Deletes the lease if ours (shutdown hand-back). Returns 1 or 0.
const redis::script& drop_lease();

// KEYS the request stream; ARGV group, consumer_expiry_ms. Trims the entries every consumer has
// acknowledged: those before the oldest pending one, or (none pending) before the group's
// last-delivered-id; entries not yet delivered are never touched. Then removes consumers that
// own no pending entry and were idle for consumer_expiry_ms (XGROUP DELCONSUMER of a consumer
// that owns entries would drop them from the PEL: never done). Returns {trimmed, removed}.
const redis::script& maintain_queue();

}  // namespace parley::worker::scripts
