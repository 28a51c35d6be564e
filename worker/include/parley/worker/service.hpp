#pragma once
// parley-worker as a whole: reads the request stream through the consumer group, claims
// requests abandoned by dead workers, runs up to max_concurrent_turns sessions at once, listens
// for stop requests and serves /metrics. docs/worker.md describes it for operators.
//
// Thread-safety: everything runs on the io_context given to the constructor, which must be run
// by exactly one thread (the backend runs inference on its own threads). shutdown() may be
// called from any thread.
#include <parley/redis/client.hpp>
#include <parley/redis/subscriber.hpp>
#include <parley/worker/backend.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/metrics.hpp>
#include <parley/worker/read_budget.hpp>
#include <parley/worker/request_queue.hpp>
#include <parley/worker/running_turn.hpp>
#include <parley/worker/session_runner.hpp>
#include <parley/worker/session_store.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace parley {
class metrics_server;
}

namespace parley::worker {

class service {
 public:
  // `redis` is the parsed REDIS_URL. The backend must outlive the service.
  service(net::io_context& io, const worker_config& cfg, redis::config redis, backend& model);
  ~service();

  // Connects, creates the consumer group if missing, and runs until shutdown() has finished:
  // no new requests are taken, running turns get `shutdown_grace` to finish, then the rest is
  // handed back to other workers.
  net::awaitable<void> run();
  // Graceful (first SIGTERM) or immediate (second): immediate hands running turns back at once.
  void shutdown(bool immediate = false);
  // See redis::client::on_config_error; set before run().
  // A setting that cannot work (the message says which and why): the binary exits with status 2.
  // Set before run().
  void on_config_error(std::function<void(std::string)> fn);

  const std::string& consumer() const noexcept { return consumer_; }
  const worker_metrics& metrics() const noexcept { return metrics_; }
  // The bound metrics port (useful when configured as an ephemeral port in tests); 0 if off.
  std::uint16_t metrics_port() const noexcept;

 private:
  // One per request shard: reads it whenever the read budget grants slots.
  net::awaitable<void> consume(int shard);
  net::awaitable<void> consume_all();
  // Every claim_interval: queue upkeep, the REQUEST_SHARDS check, and a claim due on every shard.
  net::awaitable<void> claim();
  // XAUTOCLAIM on `shard` for up to `count` slots its reader holds; the entries taken, started.
  net::awaitable<int> claim_for(int shard, int count);
  // Waits until the budget grants shard `shard`'s reader slots (or the worker stops): the COUNT
  // to read. A reader whose last read came back full (its shard has more waiting) and finds every
  // free slot promised to readers blocked on quiet shards unblocks one of them (CLIENT UNBLOCK),
  // which gives its promise back: slots follow the shards that have work.
  net::awaitable<int> wait_for_slots(int shard);
  // Unblocks a reader other than `shard`'s that is blocked in XREADGROUP; true if one was.
  net::awaitable<bool> preempt_for(int shard);
  // Fails the worker (status 2) when gateways and workers disagree about REQUEST_SHARDS; a Redis
  // failure leaves it for the next check.
  net::awaitable<void> check_shards();
  // Keeps this worker's presence record alive while it consumes; removes it when it stops.
  net::awaitable<void> announce();
  // Runs the entry's session; its slot is already counted in budget_ (settle or start).
  void start(request_entry e);
  void finished();
  // A reader's read or claim that reserved `count` slots took `got` entries: the reader is idle
  // again, its other slots free (and waiting readers woken).
  void settled(int count, int got);
  // Slots came back (a turn ended, a read returned fewer entries than it held slots for).
  void wake_slot_waiters();
  void on_stop_message(std::string_view payload);

  net::io_context& io_;
  const worker_config& cfg_;
  std::string consumer_;
  worker_metrics metrics_;
  redis::client shared_;
  std::vector<std::unique_ptr<redis::client>> readers_;  // one per request shard
  redis::subscriber stops_;
  backend& model_;
  session_store store_;
  request_queue queue_;
  turn_registry turns_;
  session_runner runner_;
  std::unique_ptr<metrics_server> metrics_server_;

  read_budget budget_;
  int idle_readers_ = 0;         // shard readers without a read outstanding
  std::vector<char> claim_due_;  // per shard: its reader claims before its next read
  struct reader_state {
    std::optional<long long> client_id;  // of its connection; fetched again when an unblock misses
    bool blocked = false;                // in XREADGROUP, holding slots
    bool unblocking = false;             // a CLIENT UNBLOCK for that read is on its way
    bool hungry = false;                 // its last read returned entries
  };
  std::vector<reader_state> reader_states_;  // per shard
  std::function<void(std::string)> config_error_;
  bool stopping_ = false;
  net::steady_timer slot_freed_;  // never expires: cancel() wakes every reader waiting for a slot
  std::uint64_t slots_freed_ = 0;  // times wake_slot_waiters() ran
  net::steady_timer claim_timer_;
  net::steady_timer presence_timer_;
  net::steady_timer idle_;  // cancelled when no session runs any more during shutdown
};

}  // namespace parley::worker
