#pragma once
// The worker's side of the request streams (REQUEST_SHARDS of them, keys::request_streams, each
// with the consumer group `parley-workers`) and of `parley:deadletter`. Reading uses a blocking
// XREADGROUP, so each shard needs a Redis client of its own for reads (a blocked connection
// stalls its pipeline); acks and claims go through the shared client, to the entry's own shard.
#include <parley/keys.hpp>
#include <parley/redis/client.hpp>
#include <parley/worker/config.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace parley::worker {

class worker_metrics;

struct request_entry {
  std::string id;  // stream entry id; its first part is the XADD time in ms
  std::string token;
  long long seq = 0;
  std::string message_id;
  int shard = 0;         // the request stream it came from (keys::request_streams)
  bool claimed = false;  // obtained by XAUTOCLAIM (another consumer held it)
  bool valid = true;     // false when a field is missing or malformed

  // Milliseconds since the epoch at which the entry was added, from its id.
  std::chrono::milliseconds added_at() const;
};

// Parses XREADGROUP / XAUTOCLAIM entry arrays: [[id, [field, value, ...]], ...]. Nil entries
// (deleted before delivery) are skipped. Unknown fields are errors (entry marked invalid).
std::vector<request_entry> parse_entries(const redis::value& entries, bool claimed, int shard = 0);

class request_queue {
 public:
  // `readers[i]` reads shard i (one per shard, cfg.request_shards of them).
  request_queue(std::vector<redis::client*> readers, redis::client& shared, const worker_config& cfg,
                std::string consumer, worker_metrics& metrics);

  int shards() const noexcept { return streams_.size(); }
  const std::string& stream(int shard) const { return streams_.stream(shard); }

  // XGROUP CREATE ... 0 MKSTREAM on every shard; an existing group is fine.
  net::awaitable<boost::system::result<void>> ensure_groups();
  // XREADGROUP ... COUNT count BLOCK read_block STREAMS <shard> >. Empty on timeout.
  net::awaitable<boost::system::result<std::vector<request_entry>>> read(int shard, int count);
  // XAUTOCLAIM <shard> ... claim_min_idle 0-0 COUNT count, acknowledging entries deleted meanwhile.
  net::awaitable<boost::system::result<std::vector<request_entry>>> autoclaim(int shard, int count);
  net::awaitable<boost::system::result<void>> ack(const request_entry& e);
  // XCLAIM ... 0 <id> JUSTID under our consumer name: resets the entry's idle time while its turn
  // runs, so XAUTOCLAIM never takes it from a live worker.
  net::awaitable<boost::system::result<void>> keep_claimed(const request_entry& e);
  struct upkeep {
    long long trimmed = 0;
    long long consumers_removed = 0;
  };
  // scripts::maintain_queue with consumer_expiry, on every shard (summed; the first failure wins).
  net::awaitable<boost::system::result<upkeep>> maintain();
  // Shutdown hand-back: re-adds the request to its shard so any worker reads it at once, then
  // acks ours.
  net::awaitable<boost::system::result<void>> requeue(const request_entry& e);
  // The CLIENT ID of shard `shard`'s reader connection (the node of that shard), and CLIENT
  // UNBLOCK ... TIMEOUT of it sent through the shared client to the same node: its blocked
  // XREADGROUP returns at once, as if it had timed out. 1 when a read was unblocked, else 0.
  net::awaitable<boost::system::result<long long>> reader_id(int shard);
  net::awaitable<boost::system::result<long long>> unblock(int shard, long long reader_id);
  // Returns the dead-letter entry's id.
  net::awaitable<boost::system::result<std::string>> dead_letter(const request_entry& e, long long seq,
                                                          const std::string& message_id, const std::string& error,
                                                          int attempts);

 private:
  // Awaits one Redis call, counting it and, when it fails or Redis answers an error, one error.
  net::awaitable<boost::system::result<redis::value>> counted(net::awaitable<boost::system::result<redis::value>> call);
  net::awaitable<boost::system::result<void>> ensure_group(int shard);
  keys::request_streams streams_;
  std::vector<redis::client*> readers_;
  redis::client& shared_;
  const worker_config& cfg_;
  std::string consumer_;
  worker_metrics& metrics_;
};

}  // namespace parley::worker
