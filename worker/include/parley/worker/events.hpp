#pragma once
// The JSON a worker writes: history entries of bot replies and the session events the client
// receives (docs/protocol.md, "Session events"; docs/worker.md lists the worker's fields).
// Events are stored without their `id`: the id is the stream entry id, spliced in by the emit
// scripts when they PUBLISH and by the gateway when it reads XRANGE.
#include <parley/worker/backend.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley::worker {

// A bot reply as stored in `parley:{T}:history`.
struct bot_reply {
  // This reply's message id: the stream id of the `reply_start` event of the attempt that
  // produced it (or of the dead-letter entry for a failed reply), so ids stay stream ids.
  std::string id;
  std::string reply_to;  // the user message it answers
  long long seq = 0;     // the user message's seq
  std::string text;
  std::string timestamp;             // ISO 8601 UTC with milliseconds
  bool stopped = false;              // the client stopped it; `text` is the partial reply
  bool cut_off = false;              // it ended at the token limit (stored as finish: "length")
  std::optional<std::string> error;  // error code when no reply could be generated
};

// What the worker measured of one reply: extra numeric fields of reply_end for benchmarks and
// operators (docs/worker.md, "Turn timing"); clients ignore them. Times are microseconds since
// the Unix epoch (system clock, so that other processes on the host can line them up with their
// own); 0 means the mark was not reached and the field is left out.
struct reply_timing {
  int generated_tokens = 0;
  int prompt_tokens = 0;  // as sent to the model
  int cached_tokens = 0;  // of those, reused from the session's KV cache
  long long read_us = 0;         // the worker took the turn up (its request was read)
  long long prompt_us = 0;       // the prompt was handed to the model
  long long first_token_us = 0;  // the first reply text arrived from the model
  long long last_token_us = 0;   // the model finished
  long long end_us = 0;          // reply_end was written
};

long long epoch_us(std::chrono::system_clock::time_point t) noexcept;

// {id, source: "bot", msg, timestamp, seq, reply_to, stopped?, error?}
std::string history_entry_json(const bot_reply& r);

// {type: "reply_start", reply_to, seq, attempt, timestamp}
// A version of a reply (docs/protocol.md, "Versions"): `kind` "" for a message's own turn, else
// "regenerate" or "continue" (then `continues` names the reply whose text it starts with);
// `version` is its place among the replies to its message (versions = version while it streams).
struct reply_version {
  std::string_view kind;
  std::string_view continues;
  int version = 1;
};
std::string reply_start_event(std::string_view reply_to, long long seq, int attempt, std::string_view timestamp,
                              const reply_version& v = {});
// {type: "reply_discard", reply_to, attempt}: drop every delta of `reply_to` received so far,
// the attempt that streamed them died; `attempt` is the one starting now.
std::string reply_discard_event(std::string_view reply_to, int attempt);
// {type: "delta", reply_to, text}
std::string delta_event(std::string_view reply_to, std::string_view text);
// {type: "reply_end", reply_to, message_id, text, timestamp, seq, finish, stopped?} and the
// fields of `timing`; `finish` is "stop", "length" or "cancelled".
std::string reply_end_event(const bot_reply& r, std::string_view finish, const reply_timing& timing = {});
// {type: "error", reply_to, code, message, message_id, timestamp}: no reply could be generated.
std::string error_event(const bot_reply& r, std::string_view code, std::string_view message);

std::string_view to_string(finish_reason r) noexcept;

}  // namespace parley::worker
