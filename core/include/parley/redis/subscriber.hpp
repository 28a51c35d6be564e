#pragma once
// A pub/sub connection: SUBSCRIBE/UNSUBSCRIBE over its own socket (a connection in subscribe mode
// can run nothing else). Reconnects with backoff and re-subscribes every channel it holds; after
// a reconnect `on_reconnect` fires so that consumers fetch what they may have missed (pub/sub
// has no replay: the session event streams do).
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

class subscriber {
 public:
  using message_handler = std::function<void(std::string_view channel, std::string_view payload)>;

  subscriber(net::any_io_executor ex, config cfg);
  ~subscriber();
  subscriber(const subscriber&) = delete;
  subscriber& operator=(const subscriber&) = delete;

  // Handlers are set before start().
  void on_message(message_handler fn);
  void on_reconnect(std::function<void()> fn);

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
  std::shared_ptr<subscriber_impl> impl_;
};

}  // namespace parley::redis
