#pragma once
// Fans session events out from one Redis pub/sub connection to every WebSocket of that session
// (two tabs on one session both get them). The first sink of a token SUBSCRIBEs its notify
// channel, the last one leaving UNSUBSCRIBEs (the subscriber reference-counts per channel).
// Thread-safety: add/remove/for_each may be called from any thread (one mutex); delivery runs on
// the subscriber's strand and sinks must only post to their own executor from it.
#include <parley/protocol.hpp>
#include <parley/redis/subscriber.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::gateway {

class event_sink {
 public:
  virtual ~event_sink() = default;
  // A published event for this sink's session (any thread: post, do not block).
  virtual void on_event(protocol::stream_id id, std::shared_ptr<const std::string> json) = 0;
  // Pub/sub reconnected: messages may have been lost; re-read the event stream.
  virtual void on_resubscribed() = 0;
  // This session's channel is moving to another node: until the replay that follows, a live event
  // may come after missing ones; take none as the next (redis::subscriber::on_moving).
  virtual void on_channel_moving() = 0;
  // The gateway is shutting down: close with 1001.
  virtual void go_away() = 0;
  // The conversation was deleted (DELETE /api/conversations/{token}, on any gateway): close with 4004.
  virtual void on_deleted() = 0;
};

class event_hub {
 public:
  explicit event_hub(redis::subscriber& sub);
  // Installs the subscriber's handlers; call before the subscriber starts.
  void attach();

  void add(const std::string& token, const std::shared_ptr<event_sink>& sink);
  void remove(const std::string& token, const event_sink* sink);
  boost::asio::awaitable<boost::system::error_code> wait_subscribed();
  std::size_t size() const;
  void for_each(const std::function<void(event_sink&)>& fn);

  // "parley:{T}:notify" -> "T"; "" for other channels.
  static std::string_view token_of(std::string_view channel);

 private:
  void dispatch(std::string_view channel, std::string_view payload);
  std::vector<std::shared_ptr<event_sink>> sinks_of(std::string_view token);

  redis::subscriber& sub_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::weak_ptr<event_sink>>> sinks_;
  std::size_t count_ = 0;
};

}  // namespace parley::gateway
