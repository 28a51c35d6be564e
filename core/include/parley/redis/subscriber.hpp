#pragma once
// Pub/sub: SUBSCRIBE/UNSUBSCRIBE over a socket of its own (a connection in subscribe mode can run
// nothing else). Reconnects with backoff and re-subscribes every channel it holds; after a
// reconnect `on_reconnect` fires so that consumers fetch what they may have missed (pub/sub has
// no replay: the session event streams do).
//
// Two kinds. Classic (SUBSCRIBE): one connection to the configured server; on a cluster a classic
// PUBLISH reaches every node, so any node will do. Sharded (SSUBSCRIBE, Redis 7.0): a message
// published with SPUBLISH stays on the shard that owns the channel's slot, so the subscriber
// keeps one connection per node that owns one of its channels, asking `map` (a client of the
// same Redis) which node that is. When a channel's slot moves (failover, resharding) the old
// owner pushes `sunsubscribe` or answers MOVED: the channel is subscribed again at its new
// owner, and `on_reconnect` fires once that is confirmed. Standalone, sharded is one connection.
//
// Thread-safety: subscribe/unsubscribe may be called from any thread. Handlers run on the
// subscriber's strand, one at a time; they must not block.
#include <parley/redis/client.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace parley::redis {

class subscriber_impl;
class sharded_router;

class subscriber {
 public:
  using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;

  // Classic.
  subscriber(net::any_io_executor ex, config cfg);
  // Sharded; `map` must outlive the subscriber.
  subscriber(net::any_io_executor ex, config cfg, client& map);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  // Handlers are set before start().
  void on_message(message_handler fn);
  void on_reconnect(std::function<void()> fn);
  // Sharded: `channel` is leaving the node that delivered it (dropped there, or its slot moved).
  // Until on_reconnect fires after the move, messages on it may be missing, and the first ones
  // from its new owner may arrive before that on_reconnect: a consumer that orders by id must not
  // take them as the next ones (the gateway drops them and replays its stream). Classic: never.
  void on_moving(std::function<void(std::string_view channel)> fn);

  void start();
  void stop();

  // Reference-counted per channel: the SUBSCRIBE goes out on the first call for a channel and
  // the UNSUBSCRIBE on the matching last unsubscribe.
  void subscribe(const std::string& channel);
  void unsubscribe(const std::string& channel);
  // Completes once every subscription requested so far is confirmed by the server (or at once
  // with errc::not_connected while Redis is down). Lets a caller subscribe before reading a
  // stream backlog without racing the first published message.
  net::awaitable<boost::system::error_code> wait_subscribed();

  bool connected() const noexcept;

 private:
  std::shared_ptr<subscriber_impl> impl_;        // classic
  std::shared_ptr<sharded_router> sharded_;  // sharded
};

}  // namespace parley::redis
