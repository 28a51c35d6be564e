#pragma once
// The chaos suite's scaffolding: how many trials a scenario runs (a short form for `make test`,
// the full form for `make chaos`, PARLEY_CHAOS=full), the tally of each scenario's trials with
// the times it measured, and the checks every scenario shares (the events a client received
// against the session's event stream in Redis).
//
// A scenario is one TEST that runs its trials through `scenario::trial`. A trial fails by
// throwing (`require`, or any exception); the others still run. `report` prints
//   <scenario>: N passed, M failed
//   <scenario> <measure>: p50 X s, max Y s (K samples)
// and fails the test, listing each failed trial's reason, when M > 0.
#include <parley/test/harness.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::chaos {

namespace pt = parley::test;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// PARLEY_CHAOS=full in the environment.
bool full_mode();
// `short_n` trials in the short form, `full_n` in the full one.
int trials(int short_n, int full_n);

struct trial_failed : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Ends the trial as failed with `why` unless `cond` holds.
void require(bool cond, const std::string& why);

class scenario {
 public:
  explicit scenario(std::string name) : name_(std::move(name)) {}
  // Runs one trial; `body` ends normally when the trial passed.
  void trial(const std::function<void()>& body);
  void add_time(const std::string& measure, clock::duration d);
  // Prints the tally and the times; a failed trial fails the current test.
  void report();

 private:
  std::string name_;
  int passed_ = 0;
  std::vector<std::string> failures_;
  std::map<std::string, std::vector<double>> times_;
};

// Worker flags for replies long enough to be interrupted: many short deltas.
std::vector<std::string> long_reply_flags();

// Ids of every entry of the session's event stream, oldest first.
std::vector<std::string> stream_ids(const pt::redis_server& redis, const std::string& token);
// "" when `received` (event ids in the order a client got them, over all its connections) is
// exactly the session's event stream: every event once, in order, none missing (events trimmed
// by retention are counted through the stream's entries-added); else what differs.
std::string exactly_once(const pt::redis_server& redis, const std::string& token,
                         const std::vector<std::string>& received);
// "" when every user message of the history has exactly one bot reply, else which do not.
std::string one_reply_each(std::uint16_t gateway_port, const std::string& token);

// A reply still streaming: `frames` holds a delta of `id` and no reply_end.
bool mid_reply(const pt::frame_list& frames, const std::string& id);
// What every turn must end with (throws trial_failed otherwise): the reply the client assembled
// is reply_end's text, each message of the history has one reply, and the client saw the
// session's events exactly once, in order.
void check_turn(const pt::redis_server& redis, std::uint16_t port, const std::string& token,
                const pt::frame_list& frames, const std::string& id);

// Reads frames until `done` holds; on a dropped connection reconnects (to `port`, resuming
// after the last event id in `frames`) and goes on, until `timeout`. Frames of every connection
// are appended to `frames`; returns false on timeout.
bool read_resuming(std::unique_ptr<pt::ws_client>& ws, std::uint16_t port, const std::string& token,
                   pt::frame_list& frames, const std::function<bool(const pt::frame_list&)>& done,
                   std::chrono::milliseconds timeout = 60s);

// Opens a chat socket, appending its `ready` frame to `frames` (where resume_point finds it).
std::unique_ptr<pt::ws_client> open_chat(std::uint16_t port, const std::string& token, pt::frame_list& frames,
                                         const std::string& last_event_id = {});
// Where a client holding `frames` resumes: its last event's id, else the `last_event_id` of its
// last `ready` frame.
std::string resume_point(const pt::frame_list& frames);

// Sends a message with `client_id`, resending it (same client_id) while the gateway refuses it
// with a code in `retry_on` or the socket drops, until acknowledged or `timeout`; returns the
// message id. Frames read meanwhile are appended to `frames`. Throws trial_failed on any other
// refusal, and on timeout with the last refusal.
std::string send_until_acked(std::unique_ptr<pt::ws_client>& ws, std::uint16_t port, const std::string& token,
                             pt::frame_list& frames, const std::string& text, const std::string& client_id,
                             std::chrono::milliseconds timeout = 30s,
                             const std::vector<std::string>& retry_on = {"unavailable"});

// Waits until the AOF rewrite started by BGREWRITEAOF has finished.
void rewrite_aof(const pt::redis_server& redis);

double seconds(clock::duration d);

}  // namespace parley::chaos
