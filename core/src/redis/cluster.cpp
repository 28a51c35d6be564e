#include "cluster.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley::redis::detail {

namespace {
using boost::system::error_code;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

bool refresh_worthy(error_code ec) {
  return ec == errc::not_connected || ec == errc::connection_lost || ec == errc::timeout;
}
}  // namespace

cluster_router::cluster_router(net::any_io_executor ex, config cfg)
    : ex_(ex), strand_(net::make_strand(ex)), cfg_(std::move(cfg)), refresh_timer_(strand_) {}

void cluster_router::activate(std::shared_ptr<client_impl> seed) {
  {
    std::lock_guard lock(mu_);
    if (kind_.load(std::memory_order_relaxed) == topology::cluster) return;
    nodes_.emplace(node_address{seed->cfg().host, seed->cfg().port}.str(), std::move(seed));
    kind_.store(topology::cluster, std::memory_order_release);
  }
  spdlog::info("redis {}:{}: cluster mode, reading the slot map", cfg_.host, cfg_.port);
  net::dispatch(strand_, [self = shared_from_this()] {
    if (self->stopped_) return;
    self->refresh_wanted_ = true;
    net::co_spawn(self->strand_, self->refresh_loop(), net::detached);
  });
}

void cluster_router::stop() {
  std::vector<std::shared_ptr<client_impl>> nodes;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, n] : nodes_) nodes.push_back(n);
  }
  for (auto& n : nodes) n->stop();
  net::dispatch(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->refresh_timer_.cancel();
  });
}

bool cluster_router::connected() const {
  std::lock_guard lock(mu_);
  if (!map_known_ || map_.covered() != slot_count) return false;
  for (const auto& m : map_.masters) {
    auto it = nodes_.find(m.str());
    if (it == nodes_.end() || !it->second->connected()) return false;
  }
  return true;
}

std::shared_ptr<client_impl> cluster_router::node_locked(const node_address& addr) {
  auto name = addr.str();
  if (auto it = nodes_.find(name); it != nodes_.end()) return it->second;
  auto node_cfg = cfg_;
  node_cfg.host = addr.host;
  node_cfg.port = addr.port;
  node_cfg.more_seeds.clear();
  auto node = std::make_shared<client_impl>(ex_, std::move(node_cfg), true);
  std::weak_ptr<cluster_router> weak = shared_from_this();
  node->on_connect([weak] {
    if (auto self = weak.lock(); self && self->on_connect_) self->on_connect_();
  });
  node->on_connect_failed([weak](error_code) {
    if (auto self = weak.lock()) self->request_refresh();
  });
  node->start();
  nodes_.emplace(std::move(name), node);
  return node;
}

std::shared_ptr<client_impl> cluster_router::node_at(const node_address& addr) {
  std::lock_guard lock(mu_);
  return node_locked(addr);
}

std::shared_ptr<client_impl> cluster_router::node_for_slot(std::uint16_t slot, bool& map_known) {
  std::lock_guard lock(mu_);
  map_known = map_known_;
  if (!map_known_) return nullptr;
  const auto* addr = map_.master_of(slot);
  return addr ? node_locked(*addr) : nullptr;
}

std::shared_ptr<client_impl> cluster_router::any_node() {
  std::lock_guard lock(mu_);
  for (const auto& m : map_.masters) {
    auto n = node_locked(m);
    if (n->connected()) return n;
  }
  if (!map_.masters.empty()) return node_locked(map_.masters.front());
  return node_locked({cfg_.host, cfg_.port});
}

void cluster_router::moved(std::uint16_t slot, const node_address& to) {
  {
    std::lock_guard lock(mu_);
    auto it = std::find(map_.masters.begin(), map_.masters.end(), to);
    if (it == map_.masters.end()) it = map_.masters.insert(map_.masters.end(), to);
    map_.owner[slot] = static_cast<std::int16_t>(it - map_.masters.begin());
  }
  request_refresh();
}

std::optional<node_address> cluster_router::master_of(std::uint16_t slot) const {
  std::lock_guard lock(mu_);
  if (!map_known_) return std::nullopt;
  const auto* m = map_.master_of(slot);
  if (!m) return std::nullopt;
  return *m;
}

void cluster_router::request_refresh() {
  net::dispatch(strand_, [self = shared_from_this()] {
    self->refresh_wanted_ = true;
    self->refresh_timer_.cancel();
  });
}

net::awaitable<boost::system::result<std::vector<value>>> cluster_router::exec(std::vector<command> cmds) {
  auto self = shared_from_this();
  if (cmds.empty()) co_return std::vector<value>{};
  auto slot = pipeline_slot(cmds);
  if (!slot) co_return slot.error();
  std::vector<value> out(cmds.size());
  std::vector<std::size_t> todo(cmds.size());
  for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  std::optional<node_address> ask_at;
  int tryagain = 0;
  net::steady_timer backoff(co_await net::this_coro::executor);
  for (int round = 0;; ++round) {
    if (round > max_redirects) co_return make_error_code(errc::cluster_down);
    std::shared_ptr<client_impl> node;
    if (ask_at) {
      node = node_at(*ask_at);
    } else if (*slot) {
      bool map_known = false;
      node = node_for_slot(**slot, map_known);
      if (!node) {
        request_refresh();
        co_return make_error_code(map_known ? errc::cluster_down : errc::not_connected);
      }
    } else {
      node = any_node();
    }
    const bool asking = ask_at.has_value();
    std::vector<command> batch;
    batch.reserve(todo.size() * (asking ? 2 : 1));
    // Copied, not moved: a redirected command is sent again.
    for (auto i : todo) {
      if (asking) batch.push_back({"ASKING"});
      batch.push_back(cmds[i]);
    }
    auto [ec, replies] = co_await node->async_exec(std::move(batch), use_tuple);
    if (ec) {
      if (refresh_worthy(ec)) request_refresh();
      co_return ec;
    }
    ask_at.reset();
    std::vector<std::size_t> again;
    bool wait = false;
    for (std::size_t k = 0; k < todo.size(); ++k) {
      auto& reply = replies[asking ? 2 * k + 1 : k];
      const auto i = todo[k];
      switch (classify(reply)) {
        case reply_kind::plain:
          out[i] = std::move(reply);
          break;
        case reply_kind::moved:
        case reply_kind::ask: {
          auto r = parse_redirect(reply);
          if (!r) {
            out[i] = std::move(reply);
            break;
          }
          if (r->to.host.empty()) r->to.host = node->cfg().host;
          if (r->ask) ask_at = r->to;
          else moved(r->slot, r->to);
          again.push_back(i);
          break;
        }
        case reply_kind::tryagain:
          if (tryagain >= max_tryagain) {
            out[i] = std::move(reply);
          } else {
            wait = true;
            again.push_back(i);
          }
          break;
        case reply_kind::clusterdown:
          request_refresh();
          co_return make_error_code(errc::cluster_down);
      }
    }
    if (again.empty()) co_return out;
    todo = std::move(again);
    if (wait) {
      // TRYAGAIN: a multi-key command met a slot being migrated; it settles within milliseconds.
      backoff.expires_after(std::chrono::milliseconds(5) * (1 << tryagain++));
      co_await backoff.async_wait(use_tuple);
    }
  }
}

net::awaitable<void> cluster_router::refresh_loop() {
  auto self = shared_from_this();
  net::steady_timer gap(strand_);
  auto failed_gap = min_refresh_gap;
  while (!stopped_) {
    if (!refresh_wanted_) {
      refresh_timer_.expires_after(cfg_.cluster_refresh);
      co_await refresh_timer_.async_wait(use_tuple);
      if (stopped_) break;
    }
    refresh_wanted_ = false;
    const bool ok = co_await refresh_once();
    if (stopped_) break;
    if (!ok) {
      refresh_wanted_ = true;
      failed_gap = std::min(failed_gap * 2, std::chrono::milliseconds(1000));
    } else {
      failed_gap = min_refresh_gap;
    }
    gap.expires_after(ok ? min_refresh_gap : failed_gap);
    co_await gap.async_wait(use_tuple);
  }
}

net::awaitable<bool> cluster_router::refresh_once() {
  std::vector<node_address> candidates;
  auto add = [&](const node_address& a) {
    if (std::find(candidates.begin(), candidates.end(), a) == candidates.end()) candidates.push_back(a);
  };
  {
    std::lock_guard lock(mu_);
    for (const auto& m : map_.masters) add(m);
    for (const auto& r : map_.replicas) add(r);
  }
  add({cfg_.host, cfg_.port});
  for (const auto& s : cfg_.more_seeds) add({s.host, s.port});
  for (const auto& addr : candidates) {
    auto node = node_at(addr);
    std::vector<command> ask;
    ask.push_back({"CLUSTER", "SHARDS"});
    auto [ec, replies] = co_await node->async_exec(std::move(ask), use_tuple);
    if (stopped_) co_return false;
    if (ec || replies.size() != 1) continue;
    auto map = parse_cluster_shards(replies.front());
    if (!map) {
      spdlog::warn("redis {}: CLUSTER SHARDS answered {}", addr.str(),
                   replies.front().is_error() ? replies.front().str : map.error().message());
      continue;
    }
    if (map->masters.empty()) continue;
    const auto covered = map->covered();
    const auto masters = map->masters.size();
    bool changed = false;
    {
      std::lock_guard lock(mu_);
      changed = !map_known_ || map_.masters != map->masters || map_.owner != map->owner;
      map_ = std::move(*map);
      map_known_ = true;
      for (const auto& m : map_.masters) node_locked(m);
    }
    if (changed) {
      if (covered == slot_count) spdlog::info("redis cluster map from {}: {} masters", addr.str(), masters);
      else spdlog::warn("redis cluster map from {}: {} masters, {} of {} slots served", addr.str(),
                        masters, covered, slot_count);
    }
    co_return true;
  }
  co_return false;
}

}  // namespace parley::redis::detail
