#pragma once
// Typed access to one session's keys for the worker holding (or trying to take) its lease.
// Every call is one round trip (a command, a script or a pipeline) and is counted in the
// metrics, so `Redis commands per generated token` can be read off /metrics.
//
// Thread-safety: none of its own; used from the worker's io_context thread.
#include <parley/redis/client.hpp>
#include <parley/worker/config.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <vector>

namespace parley::worker {

class worker_metrics;

struct session_state {
  long long next_seq = 0;  // last user seq assigned
  long long done_seq = 0;  // last user seq answered
  bool exists = false;
  std::vector<std::string> history;  // raw JSON entries, chronological
  // The queued regenerate/continue turn, if any (session fields turn_seq, turn).
  long long turn_seq = 0;
  std::string turn;  // its record as the gateway wrote it
};

struct attempt_start {
  enum class status { started, already_done, lease_lost };
  status outcome = status::started;
  int attempt = 0;
  std::optional<std::string> last_error;  // reason the previous attempt failed, if recorded
  std::optional<std::string> stop;        // id of the message the client asked to stop
};

struct heartbeat_result {
  bool ours = false;
  std::optional<std::string> stop;
};

struct emit_result {
  bool ours = false;             // false: the lease is lost and nothing was written
  std::vector<std::string> ids;  // stream ids of the appended events, in order
};

// stored_released: stored, every message answered, and the lease released in the same script.
enum class complete_status { stored, stored_released, not_next, lease_lost, session_gone };

// acquire_and_read: whether the lease is ours now, and if it is, the session's state.
struct acquired_session {
  bool acquired = false;
  session_state state;
}; 

template <class T>
using result = boost::system::result<T>;

class session_store {
 public:
  session_store(redis::client& redis, const worker_config& cfg, std::string owner, worker_metrics& metrics);

  const std::string& owner() const noexcept { return owner_; }

  // SET lease NX PX and, in the same round trip, the session's state (read right after the SET;
  // meaningful only when the SET took the lease).
  net::awaitable<result<acquired_session>> acquire_and_read(const std::string& token);
  net::awaitable<result<session_state>> read_state(const std::string& token);
  net::awaitable<result<attempt_start>> begin_attempt(const std::string& token, long long seq);
  // Appends events (already serialised) in one script, unless the lease is no longer ours.
  net::awaitable<result<emit_result>> emit(const std::string& token, std::vector<std::string> events);
  // Renews the lease (if still ours) and reads the stop key. Keeping the request entry claimed is
  // request_queue::keep_claimed: the entry lives in another slot of a cluster.
  net::awaitable<result<heartbeat_result>> heartbeat(const std::string& token);
  net::awaitable<result<complete_status>> complete(const std::string& token, long long seq,
                                                   const std::string& reply_to, const std::string& reply_id,
                                                   const std::string& entry_json,
                                                   const std::string& event_json);
  // 1 released, 0 more work arrived meanwhile, -1 lease not ours.
  net::awaitable<result<int>> release(const std::string& token);
  net::awaitable<result<bool>> drop_lease(const std::string& token);
  // Remembers why an attempt failed, for the dead letter if it is the last.
  net::awaitable<result<void>> record_error(const std::string& token, long long seq, const std::string& error);

 private:
  net::awaitable<result<redis::value>> run(const redis::script& s, std::vector<std::string> keys,
                                           std::vector<std::string> args);

  redis::client& redis_;
  const worker_config& cfg_;
  std::string owner_;
  worker_metrics& metrics_;
  std::string lease_ttl_ms_;
  std::string session_ttl_ms_;
  std::string retention_;
};

}  // namespace parley::worker
