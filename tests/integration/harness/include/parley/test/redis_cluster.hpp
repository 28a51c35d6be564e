#pragma once
// A private Redis Cluster on loopback: `masters` redis-server processes with `replicas` replicas
// each, on free ports (the cluster bus on a free port of its own: `--cluster-port`, since the
// default bus port, port + 10000, is invalid above 55535), joined with
// `redis-cli --cluster create`; the constructor returns once every node says cluster_state:ok and
// knows every other, and every replica is in sync with its master (state=online). Creating one takes about two seconds: share one per test binary where the
// tests allow (shared_cluster()).
//
// `command` sends to the node that serves the key (following MOVED), for test setup and asserts.
// Not thread-safe: one test thread drives it.
#include <parley/test/redis_server.hpp>
#include <parley/test/temp_dir.hpp>

#include <memory>
#include <string>
#include <vector>

namespace parley::test {

class redis_cluster {
 public:
  struct options {
    int masters = 3;
    int replicas = 1;  // per master
    // cluster-node-timeout: how long before a silent master counts as failed (and a replica
    // takes over); short so that failover tests finish quickly.
    std::chrono::milliseconds node_timeout{2000};
    std::vector<std::string> extra_args;  // for every redis-server
  };
  explicit redis_cluster(const std::filesystem::path& dir, options opts);
  explicit redis_cluster(const std::filesystem::path& dir) : redis_cluster(dir, options{}) {}

  // redis://127.0.0.1:p1,127.0.0.1:p2,... naming every node as a seed.
  std::string url() const;
  std::size_t size() const noexcept { return nodes_.size(); }
  redis_server& node(std::size_t i) { return *nodes_.at(i); }
  // The node that serves `key` now (CLUSTER SHARDS of a live node).
  redis_server& master_of(const std::string& key);
  // The masters now, in no particular order.
  std::vector<redis_server*> masters();

  // `args` at the node serving the key at args[1] (or at any node for keyless commands).
  redis_reply command(const std::vector<std::string>& args);
  std::string command_str(const std::vector<std::string>& args);
  // The same command on every master (FLUSHALL, INFO commandstats...), replies in node order.
  std::vector<redis_reply> on_masters(const std::vector<std::string>& args);

  // Waits until every running node says cluster_state:ok and all slots are served; false after
  // `timeout`.
  bool wait_ok(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  redis_server* any_running();
  std::vector<std::unique_ptr<redis_server>> nodes_;
};

// One cluster for the whole test binary, created on first use and flushed (FLUSHALL on each
// master) by every call, so that each test starts empty.
redis_cluster& shared_cluster();

// The REQUEST_SHARDS the harness starts gateways and workers with unless a test says otherwise:
// on a cluster URL (several seeds) one shard per master of the fixture (3), so that every suite
// run on the cluster runs on a sharded queue; 1 on a standalone URL.
int default_request_shards(const std::string& redis_url);

}  // namespace parley::test
