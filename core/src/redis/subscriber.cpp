#include <parley/redis/subscriber.hpp>

#include "completion.hpp"
#include "connection.hpp"
#include "routing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace parley::redis {

namespace {
using boost::system::error_code;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
}  // namespace

// State on strand_ only. `channels_` is the wanted set with reference counts; on every connect
// all of it is subscribed again, one command per channel (SSUBSCRIBE takes channels of one slot
// only). `sent_` lists the (un)subscribe commands written on the current connection whose reply
// has not come, in order, so that each confirmation or refusal is matched to its channel;
// `unconfirmed_` counts the subscribes among them, and waiters of wait_subscribed() complete when
// it reaches zero.
class subscriber_impl : public detail::connection_base<subscriber_impl> {
 public:
  subscriber_impl(net::any_io_executor ex, config cfg, bool sharded)
      : connection_base(std::move(ex), std::move(cfg), sharded ? "redis sharded pub/sub" : "redis pub/sub"),
        sharded_(sharded) {}

  void on_message(subscriber::message_handler fn) { on_message_ = std::move(fn); }
  void on_reconnect(std::function<void()> fn) { on_reconnect_ = std::move(fn); }
  // Sharded: the server dropped `channel` (sunsubscribe it was not asked for, or MOVED to the
  // subscribe), or the connection failed; both on the strand, set before start().
  void on_channel_lost(std::function<void(const std::string&)> fn) { on_channel_lost_ = std::move(fn); }
  void on_down(std::function<void()> fn) { on_down_ = std::move(fn); }

  // Posted, not dispatched: a caller holding a lock of its own is never re-entered.
  void subscribe(const std::string& channel) {
    net::post(strand_, [self = shared_from_this(), channel] {
      if (++self->channels_[channel] == 1 && self->connected()) self->send(true, channel);
    });
  }

  void unsubscribe(const std::string& channel) {
    net::post(strand_, [self = shared_from_this(), channel] {
      auto it = self->channels_.find(channel);
      if (it == self->channels_.end()) return;
      if (--it->second == 0) {
        self->channels_.erase(it);
        if (self->connected()) self->send(false, channel);
      }
    });
  }

  template <class Token>
  auto async_wait_subscribed(Token&& token) {
    return net::async_initiate<Token, void(error_code)>(
        [self = shared_from_this()](auto handler) {
          auto done = detail::bind_completion<error_code>(std::move(handler), self->strand_);
          // Posted like subscribe(), so a wait issued after a subscribe sees it.
          net::post(self->strand_, [self, done = std::move(done)]() mutable {
            if (self->stopped_) return done(errc::shut_down);
            // A sharded node connection is opened when a channel first needs it: its first
            // connect is waited for, so that a caller never reads a backlog before the channel
            // is subscribed.
            if (!self->connected() && !(self->sharded_ && !self->had_connection_)) return done(errc::not_connected);
            if (!self->connected()) {
              self->waiters_.push_back(std::move(done));
              return;
            }
            if (self->unconfirmed_ == 0) return done(error_code{});
            self->waiters_.push_back(std::move(done));
          });
        },
        token);
  }

 private:
  friend class detail::connection_base<subscriber_impl>;

  const char* verb(bool subscribe) const noexcept {
    if (sharded_) return subscribe ? "SSUBSCRIBE" : "SUNSUBSCRIBE";
    return subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE";
  }

  void send(bool sub, const std::string& channel) {
    if (sub) ++unconfirmed_;
    sent_.push_back({sub, channel});
    detail::encode(command{verb(sub), channel}, pending_);
    wake_.cancel();
  }

  void release_waiters(error_code ec) {
    auto waiters = std::move(waiters_);
    waiters_.clear();
    for (auto& w : waiters) w(ec);
  }

  void confirmed() {
    if (unconfirmed_ > 0 && --unconfirmed_ == 0) {
      release_waiters({});
      if (resync_pending_) {
        resync_pending_ = false;
        if (on_reconnect_) on_reconnect_();
      }
    }
  }

  void on_open() {
    pending_.clear();
    sent_.clear();
    unconfirmed_ = 0;
    for (const auto& [ch, n] : channels_) send(true, ch);
    if (unconfirmed_ == 0) release_waiters({});
    // Consumers resynchronise once the re-subscription is confirmed (nothing published after
    // that point can be missed); with no channels there is nothing to resynchronise.
    // Sharded: a node's first connection also counts, since channels reach a node when they move
    // to it (or when the subscriber starts, where a resync costs one replay and misses nothing).
    resync_pending_ = (had_connection_ || sharded_) && unconfirmed_ > 0;
  }
  void on_teardown() {}
  void on_open_failed(error_code) {
    release_waiters(errc::not_connected);
    if (on_down_) on_down_();
  }
  void on_lost() {
    release_waiters(errc::connection_lost);
    if (on_down_) on_down_();
  }
  void on_stopped() { release_waiters(errc::shut_down); }

  loops_type connection_loops() {
    loops_type loops;
    loops.push_back([this] { return write_loop(); });
    return loops;
  }

  // The reply to the oldest command in sent_ has come.
  void answered() {
    if (sent_.empty()) return;
    const bool sub = sent_.front().subscribe;
    sent_.pop_front();
    if (sub) confirmed();
  }

  // Pushed messages, (un)subscribe confirmations and refusals; anything else is ignored.
  bool on_reply(value v) {
    if (v.is_error()) {
      // A refused (S)SUBSCRIBE: MOVED (the slot has another owner), CLUSTERDOWN...
      if (!sent_.empty() && sent_.front().subscribe) {
        auto ch = sent_.front().channel;
        answered();
        if (sharded_ && channels_.erase(ch) > 0 && on_channel_lost_) on_channel_lost_(ch);
      } else {
        answered();
      }
      return true;
    }
    if (!v.is_array() || v.elements.size() < 3) return true;
    auto kind = v.elements[0].as_string();
    auto ch = v.elements[1].as_string();
    if (!kind || !ch) return true;
    if (*kind == "message" || *kind == "smessage") {
      auto payload = v.elements[2].as_string();
      if (payload && on_message_) on_message_(*ch, *payload);
    } else if (*kind == "subscribe" || *kind == "ssubscribe" || *kind == "unsubscribe") {
      answered();
    } else if (*kind == "sunsubscribe") {
      if (!sent_.empty() && !sent_.front().subscribe && sent_.front().channel == *ch) {
        answered();
      } else {
        // Not asked for: the slot moved away from this node (failover, resharding).
        std::string lost(*ch);
        spdlog::info("redis {}:{} dropped channel {}; subscribing at its new owner", cfg_.host, cfg_.port, lost);
        if (channels_.erase(lost) > 0 && on_channel_lost_) on_channel_lost_(lost);
      }
    }
    return true;
  }

  net::awaitable<void> write_loop() {
    std::string out;
    for (;;) {
      if (pending_.empty()) {
        wake_.expires_at(std::chrono::steady_clock::time_point::max());
        co_await wake_.async_wait(use_tuple);
        if (closing_) co_return;
        continue;
      }
      out.swap(pending_);
      pending_.clear();
      auto [ec, n] = co_await net::async_write(socket_, net::buffer(out), use_tuple);
      if (ec) co_return;
      out.clear();
    }
  }

  struct sent_command {
    bool subscribe;
    std::string channel;
  };
  bool sharded_;
  std::unordered_map<std::string, int> channels_;
  std::deque<sent_command> sent_;
  std::string pending_;
  std::size_t unconfirmed_ = 0;
  std::deque<detail::unique_function<void(error_code)>> waiters_;
  subscriber::message_handler on_message_;
  std::function<void()> on_reconnect_;
  std::function<void(const std::string&)> on_channel_lost_;
  std::function<void()> on_down_;
  bool resync_pending_ = false;
};

// Sharded subscriptions over one subscriber_impl per node. `channels_` maps each wanted channel
// to its reference count and the node ("host:port") it is subscribed at, "" while no node is
// known. reconcile() moves channels whose owner changed (as `map_` tells) and runs every
// `settle` while a channel waits for a node, else every `recheck`, and at once when a node drops
// a channel or its connection. Thread-safety: channels_ and nodes_ under mu_; node calls are made
// outside it (they post to the node's strand).
class sharded_router : public std::enable_shared_from_this<sharded_router> {
 public:
  static constexpr std::chrono::milliseconds settle{100};
  static constexpr std::chrono::milliseconds recheck{1000};
  // How long a node that dropped a channel is not taken for its owner again (channel_state).
  static constexpr std::chrono::seconds dropped_memory{10};

  sharded_router(net::any_io_executor ex, config cfg, client& map)
      : ex_(ex), strand_(net::make_strand(ex)), cfg_(std::move(cfg)), map_(map), timer_(strand_) {}

  void on_message(subscriber::message_handler fn) { on_message_ = std::move(fn); }
  void on_reconnect(std::function<void()> fn) { on_reconnect_ = std::move(fn); }
  void on_moving(std::function<void(std::string_view)> fn) { on_moving_ = std::move(fn); }

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] {
      if (self->started_ || self->stopped_) return;
      self->started_ = true;
      net::co_spawn(self->strand_, self->reconcile_loop(), net::detached);
    });
  }

  void stop() {
    std::vector<std::shared_ptr<subscriber_impl>> nodes;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [name, n] : nodes_) nodes.push_back(n);
    }
    for (auto& n : nodes) n->stop();
    net::dispatch(strand_, [self = shared_from_this()] {
      self->stopped_ = true;
      self->timer_.cancel();
    });
  }

  void subscribe(const std::string& channel) {
    std::shared_ptr<subscriber_impl> node;
    {
      std::lock_guard lock(mu_);
      auto& c = channels_[channel];
      if (++c.refs > 1) return;
      c.node = owner(channel);
      if (!c.node.empty()) node = node_locked(c.node);
    }
    if (node) node->subscribe(channel);
    else wake();
  }

  void unsubscribe(const std::string& channel) {
    std::shared_ptr<subscriber_impl> node;
    {
      std::lock_guard lock(mu_);
      auto it = channels_.find(channel);
      if (it == channels_.end() || --it->second.refs > 0) return;
      if (!it->second.node.empty()) node = node_locked(it->second.node);
      channels_.erase(it);
    }
    if (node) node->unsubscribe(channel);
  }

  net::awaitable<error_code> wait_subscribed() {
    auto self = shared_from_this();
    std::vector<std::shared_ptr<subscriber_impl>> nodes;
    bool homeless = false;
    {
      std::lock_guard lock(mu_);
      for (auto& [name, n] : nodes_) nodes.push_back(n);
      for (auto& [ch, c] : channels_) homeless = homeless || c.node.empty();
    }
    if (homeless) co_return make_error_code(errc::not_connected);
    for (auto& n : nodes) {
      auto [ec] = co_await n->async_wait_subscribed(use_tuple);
      if (ec) co_return ec;
    }
    co_return error_code{};
  }

  bool connected() const {
    std::lock_guard lock(mu_);
    for (auto& [ch, c] : channels_) {
      if (c.node.empty()) return false;
      auto it = nodes_.find(c.node);
      if (it == nodes_.end() || !it->second->connected()) return false;
    }
    return map_.connected();
  }

 private:
  struct channel_state {
    int refs = 0;
    std::string node;
    // The node that last dropped the channel (sunsubscribe, MOVED) and when: a map read soon
    // after may still name it (CLUSTER FAILOVER demotes it before every node agrees), and a
    // demoted master accepts SSUBSCRIBE as a replica while messages published at the new master
    // do not reach it yet; so it is not taken for the owner again for a while.
    std::string dropped_by;
    std::chrono::steady_clock::time_point dropped_at;
  };

  std::string owner(const std::string& channel) const {
    auto e = map_.node_for(channel);
    return e ? detail::node_address{e->host, e->port}.str() : std::string();
  }

  std::shared_ptr<subscriber_impl> node_locked(const std::string& name) {
    if (auto it = nodes_.find(name); it != nodes_.end()) return it->second;
    const auto colon = name.rfind(':');
    auto node_cfg = cfg_;
    node_cfg.host = name.substr(0, colon);
    node_cfg.port = static_cast<std::uint16_t>(std::stoi(name.substr(colon + 1)));
    node_cfg.more_seeds.clear();
    auto node = std::make_shared<subscriber_impl>(ex_, std::move(node_cfg), true);
    std::weak_ptr<sharded_router> weak = shared_from_this();
    node->on_message([weak](std::string_view ch, std::string_view payload) {
      if (auto self = weak.lock(); self && self->on_message_) self->on_message_(ch, payload);
    });
    node->on_reconnect([weak] {
      if (auto self = weak.lock(); self && self->on_reconnect_) self->on_reconnect_();
    });
    node->on_channel_lost([weak, name](const std::string& ch) {
      if (auto self = weak.lock()) self->lost(ch, name);
    });
    node->on_down([weak] {
      if (auto self = weak.lock()) {
        self->map_.refresh_map();
        self->wake();
      }
    });
    if (!stopping_) node->start();
    nodes_.emplace(name, node);
    return node;
  }

  void lost(const std::string& channel, const std::string& at) {
    {
      std::lock_guard lock(mu_);
      auto it = channels_.find(channel);
      if (it != channels_.end() && it->second.node == at) {
        it->second.node.clear();
        it->second.dropped_by = at;
        it->second.dropped_at = std::chrono::steady_clock::now();
      }
    }
    if (on_moving_) on_moving_(channel);
    map_.refresh_map();
    wake();
  }

  void wake() {
    net::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  net::awaitable<void> reconcile_loop() {
    auto self = shared_from_this();
    while (!stopped_) {
      const bool settled = reconcile();
      // A map read just after a node dropped a channel may predate the move: read it again until
      // every channel has a home.
      if (!settled) map_.refresh_map();
      timer_.expires_after(settled ? recheck : settle);
      co_await timer_.async_wait(use_tuple);
    }
  }

  // Moves every channel whose owner changed; true when every channel has a node.
  bool reconcile() {
    struct move {
      std::string channel;
      std::shared_ptr<subscriber_impl> from, to;
      std::string to_name;
    };
    std::vector<move> moves;
    bool settled = true;
    {
      std::lock_guard lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      for (auto& [ch, c] : channels_) {
        auto want = owner(ch);
        if (!c.dropped_by.empty()) {
          if (want != c.dropped_by || now - c.dropped_at > dropped_memory) c.dropped_by.clear();
          else want.clear();
        }
        if (want != c.node) {
          moves.push_back(
              {ch, c.node.empty() ? nullptr : node_locked(c.node), want.empty() ? nullptr : node_locked(want), want});
          c.node = want;
        }
        settled = settled && !c.node.empty();
      }
    }
    struct target {
      std::shared_ptr<subscriber_impl> node;
      std::string name;
      std::vector<std::string> channels;
    };
    std::vector<target> targets;
    for (auto& m : moves) {
      if (on_moving_) on_moving_(m.channel);
      if (m.from) m.from->unsubscribe(m.channel);
      if (!m.to) continue;
      m.to->subscribe(m.channel);
      auto t = std::find_if(targets.begin(), targets.end(), [&](const target& x) { return x.node == m.to; });
      if (t == targets.end()) t = targets.insert(targets.end(), target{m.to, m.to_name, {}});
      t->channels.push_back(m.channel);
    }
    // Once the channels are subscribed at their new owners, consumers fetch what was published
    // while they had none. A refusal (MOVED: this client's map was behind) clears the channel's
    // node before the wait completes, and a later round subscribes it, and resyncs, again.
    for (auto& t : targets) {
      net::co_spawn(
          strand_,
          [self = shared_from_this(), t = std::move(t)]() -> net::awaitable<void> {
            auto [ec] = co_await t.node->async_wait_subscribed(use_tuple);
            if (ec) co_return;
            {
              std::lock_guard lock(self->mu_);
              for (const auto& ch : t.channels) {
                auto it = self->channels_.find(ch);
                if (it != self->channels_.end() && it->second.node != t.name) co_return;
              }
            }
            if (self->on_reconnect_) self->on_reconnect_();
          },
          net::detached);
    }
    return settled;
  }

  net::any_io_executor ex_;
  net::strand<net::any_io_executor> strand_;
  config cfg_;
  client& map_;
  net::steady_timer timer_;
  bool started_ = false;  // strand_
  bool stopped_ = false;  // strand_
  subscriber::message_handler on_message_;
  std::function<void(std::string_view)> on_moving_;
  std::function<void()> on_reconnect_;

  mutable std::mutex mu_;
  bool stopping_ = false;
  std::unordered_map<std::string, channel_state> channels_;
  std::unordered_map<std::string, std::shared_ptr<subscriber_impl>> nodes_;
};

subscriber::subscriber(net::any_io_executor ex, config cfg)
    : impl_(std::make_shared<subscriber_impl>(std::move(ex), std::move(cfg), false)) {}
subscriber::subscriber(net::any_io_executor ex, config cfg, client& map)
    : sharded_(std::make_shared<sharded_router>(std::move(ex), std::move(cfg), map)) {}
subscriber::~subscriber() { stop(); }
void subscriber::on_message(message_handler fn) {
  if (impl_) impl_->on_message(std::move(fn));
  else sharded_->on_message(std::move(fn));
}
void subscriber::on_moving(std::function<void(std::string_view)> fn) {
  if (sharded_) sharded_->on_moving(std::move(fn));
}

void subscriber::on_reconnect(std::function<void()> fn) {
  if (impl_) impl_->on_reconnect(std::move(fn));
  else sharded_->on_reconnect(std::move(fn));
}
void subscriber::start() {
  if (impl_) impl_->start();
  else sharded_->start();
}
void subscriber::stop() {
  if (impl_) impl_->stop();
  else sharded_->stop();
}
void subscriber::subscribe(const std::string& channel) {
  if (impl_) impl_->subscribe(channel);
  else sharded_->subscribe(channel);
}
void subscriber::unsubscribe(const std::string& channel) {
  if (impl_) impl_->unsubscribe(channel);
  else sharded_->unsubscribe(channel);
}
bool subscriber::connected() const noexcept { return impl_ ? impl_->connected() : sharded_->connected(); }

net::awaitable<boost::system::error_code> subscriber::wait_subscribed() {
  if (sharded_) {
    auto router = sharded_;
    co_return co_await router->wait_subscribed();
  }
  auto impl = impl_;
  auto [ec] = co_await impl->async_wait_subscribed(use_tuple);
  co_return ec;
}

}  // namespace parley::redis
