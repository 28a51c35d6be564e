#include <parley/test/ports.hpp>
#include <parley/test/process.hpp>
#include <parley/test/redis_cluster.hpp>

#include <hiredis/hiredis.h>

#include <charconv>
#include <stdexcept>

#ifndef PARLEY_REDIS_CLI
#define PARLEY_REDIS_CLI "/usr/bin/redis-cli"
#endif

namespace parley::test {

namespace {

std::string cluster_info(redis_server& n) {
  try {
    return n.command_str({"CLUSTER", "INFO"});
  } catch (const std::exception&) {
    return {};
  }
}

// The port of a master that serves `slot` in a CLUSTER SHARDS reply, 0 when none.
std::uint16_t port_serving(const redis_reply& shards, long long slot) {
  auto field = [](const redis_reply& flat, std::string_view name) -> const redis_reply* {
    for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
      if (flat.elements[i].str == name) return &flat.elements[i + 1];
    return nullptr;
  };
  for (const auto& shard : shards.elements) {
    const auto* slots = field(shard, "slots");
    const auto* nodes = field(shard, "nodes");
    if (!slots || !nodes) continue;
    bool ours = false;
    for (std::size_t i = 0; i + 1 < slots->elements.size(); i += 2)
      ours = ours || (slots->elements[i].integer <= slot && slot <= slots->elements[i + 1].integer);
    if (!ours) continue;
    for (const auto& n : nodes->elements) {
      const auto* role = field(n, "role");
      const auto* health = field(n, "health");
      const auto* port = field(n, "port");
      if (role && role->str == "master" && port && (!health || health->str == "online"))
        return static_cast<std::uint16_t>(port->integer);
    }
  }
  return 0;
}

}  // namespace

redis_cluster::redis_cluster(const std::filesystem::path& dir, options opts) {
  const int total = opts.masters * (1 + opts.replicas);
  for (int i = 0; i < total; ++i) {
    std::vector<std::string> args{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                  "--cluster-port", std::to_string(free_port()), "--cluster-node-timeout",
                                  std::to_string(opts.node_timeout.count()),
                                  // A replica's first sync starts at once, not 5 s later (the default).
                                  "--repl-diskless-sync-delay", "0"};
    args.insert(args.end(), opts.extra_args.begin(), opts.extra_args.end());
    nodes_.push_back(std::make_unique<redis_server>(dir / ("node-" + std::to_string(i)), std::move(args)));
  }
  std::vector<std::string> create{PARLEY_REDIS_CLI, "--cluster", "create"};
  for (auto& n : nodes_) create.push_back("127.0.0.1:" + std::to_string(n->port()));
  create.insert(create.end(), {"--cluster-replicas", std::to_string(opts.replicas), "--cluster-yes"});
  auto made = run_to_exit({.argv = create, .env = {}, .unset_env = {}, .log_path = dir / "cluster-create.log",
                           .working_dir = {}},
                          std::chrono::seconds(60));
  if (made.status != 0) throw std::runtime_error("redis-cli --cluster create failed: " + made.log);
  if (!wait_ok()) throw std::runtime_error("the redis cluster did not reach cluster_state:ok");
  // Replicas attach and sync asynchronously; failover tests (and WAIT) need them in sync: every
  // replica `state=online` on its master (connected alone may still wait for its first sync).
  const auto attached = [&] {
    for (auto* m : masters()) {
      const auto info = m->command_str({"INFO", "replication"});
      int online = 0;
      for (auto at = info.find("state=online"); at != std::string::npos; at = info.find("state=online", at + 1)) ++online;
      if (online != opts.replicas) return false;
    }
    return true;
  };
  if (!wait_until(attached, std::chrono::seconds(30))) throw std::runtime_error("redis cluster replicas did not attach");
}

std::string redis_cluster::url() const {
  std::string out = "redis://";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (i) out += ",";
    out += "127.0.0.1:" + std::to_string(nodes_[i]->port());
  }
  return out;
}

bool redis_cluster::wait_ok(std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        for (auto& n : nodes_) {
          if (!n->running()) continue;
          auto info = cluster_info(*n);
          if (info.find("cluster_state:ok") == std::string::npos ||
              info.find("cluster_slots_ok:16384") == std::string::npos ||
              info.find("cluster_known_nodes:" + std::to_string(nodes_.size())) == std::string::npos)
            return false;
        }
        return true;
      },
      timeout);
}

redis_server* redis_cluster::any_running() {
  for (auto& n : nodes_)
    if (n->running()) return n.get();
  throw std::runtime_error("no redis cluster node is running");
}

redis_server& redis_cluster::master_of(const std::string& key) {
  auto* probe = any_running();
  const auto slot = probe->command({"CLUSTER", "KEYSLOT", key}).integer;
  for (auto& n : nodes_) {
    if (!n->running()) continue;
    const auto port = port_serving(n->command({"CLUSTER", "SHARDS"}), slot);
    for (auto& m : nodes_)
      if (m->port() == port) return *m;
  }
  throw std::runtime_error("no master serves " + key);
}

std::vector<redis_server*> redis_cluster::masters() {
  std::vector<redis_server*> out;
  for (auto& n : nodes_) {
    if (!n->running()) continue;
    auto role = n->command({"ROLE"});
    if (!role.elements.empty() && role.elements[0].str == "master") out.push_back(n.get());
  }
  return out;
}

redis_reply redis_cluster::command(const std::vector<std::string>& args) {
  redis_server* at = args.size() > 1 ? &master_of(args[1]) : any_running();
  for (int hops = 0; hops < 5; ++hops) {
    auto r = at->command(args);
    if (r.type != redis_reply::kind::error || !r.str.starts_with("MOVED ")) return r;
    const auto colon = r.str.rfind(':');
    unsigned port = 0;
    std::from_chars(r.str.data() + colon + 1, r.str.data() + r.str.size(), port);
    for (auto& n : nodes_)
      if (n->port() == port) at = n.get();
  }
  throw std::runtime_error("redis cluster keeps redirecting " + args.front());
}

std::string redis_cluster::command_str(const std::vector<std::string>& args) {
  auto r = command(args);
  if (r.type == redis_reply::kind::integer) return std::to_string(r.integer);
  if (r.type == redis_reply::kind::error) throw std::runtime_error("redis error: " + r.str);
  return r.str;
}

std::vector<redis_reply> redis_cluster::on_masters(const std::vector<std::string>& args) {
  std::vector<redis_reply> out;
  for (auto* m : masters()) out.push_back(m->command(args));
  return out;
}

redis_cluster& shared_cluster() {
  static temp_dir dir;
  static redis_cluster cluster(dir.path());
  cluster.on_masters({"FLUSHALL"});
  return cluster;
}

int default_request_shards(const std::string& redis_url) {
  return redis_url.find(',') != std::string::npos ? 3 : 1;
}

}  // namespace parley::test
