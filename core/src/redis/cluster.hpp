#pragma once
// The Redis Cluster side of redis::client: a slot map, one pipelined connection per node, and the
// redirect loop (MOVED, ASK, TRYAGAIN, CLUSTERDOWN) around each pipeline. See routing.hpp for how
// a pipeline is routed and client.hpp for what callers see.
//
// The map is read with CLUSTER SHARDS from any node that answers (known masters first, then
// replicas, then the seeds): at start, after MOVED, after a node connection fails, and every
// config::cluster_refresh. Refreshes are serialised on the router's strand and at least
// `min_refresh_gap` apart, so a burst of failures costs one read.
//
// Node connections are kept for the life of the client, also for nodes that stop being masters
// (their in-flight commands then complete as any lost connection's do, never with shut_down).
//
// Thread-safety: exec() and connected() may be called from any thread; the map and the node table
// are guarded by mu_; refreshing runs on strand_.
#include "client_impl.hpp"
#include "routing.hpp"

#include <boost/asio/strand.hpp>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace parley::redis::detail {

class cluster_router : public std::enable_shared_from_this<cluster_router> {
 public:
  static constexpr std::chrono::milliseconds min_refresh_gap{100};
  // More redirects than this for one pipeline means the cluster is moving faster than the map.
  static constexpr int max_redirects = 16;
  static constexpr int max_tryagain = 8;

  cluster_router(net::any_io_executor ex, config cfg);

  // What the client's server turned out to be; unknown until its first connection.
  enum class topology { unknown, standalone, cluster };
  topology kind() const noexcept { return kind_.load(std::memory_order_acquire); }
  // The server answered cluster_enabled:0 (a later cluster answer still wins).
  void mark_standalone() noexcept {
    auto expected = topology::unknown;
    kind_.compare_exchange_strong(expected, topology::standalone, std::memory_order_acq_rel);
  }
  // Turns the router on, `seed` being a connection to a cluster node (it becomes one of the node
  // connections). Idempotent.
  void activate(std::shared_ptr<client_impl> seed);
  void stop();
  // A map covering every slot is known and every master's connection is up.
  bool connected() const;

  net::awaitable<boost::system::result<std::vector<value>>> exec(std::vector<command> cmds);
  std::optional<node_address> master_of(std::uint16_t slot) const;
  void request_refresh();

  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }

 private:
  std::shared_ptr<client_impl> node_at(const node_address& addr);  // creates it if new
  std::shared_ptr<client_impl> node_locked(const node_address& addr);
  std::shared_ptr<client_impl> node_for_slot(std::uint16_t slot, bool& map_known);
  std::shared_ptr<client_impl> any_node();
  void moved(std::uint16_t slot, const node_address& to);
  net::awaitable<void> refresh_loop();
  net::awaitable<bool> refresh_once();

  net::any_io_executor ex_;
  net::strand<net::any_io_executor> strand_;
  config cfg_;
  net::steady_timer refresh_timer_;
  std::atomic<topology> kind_{topology::unknown};
  bool stopped_ = false;          // strand_
  bool refresh_wanted_ = false;   // strand_
  std::function<void()> on_connect_;

  mutable std::mutex mu_;
  bool map_known_ = false;
  slot_map map_;
  std::unordered_map<std::string, std::shared_ptr<client_impl>> nodes_;  // by "host:port"
};

}  // namespace parley::redis::detail
