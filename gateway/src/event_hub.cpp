#include <parley/gateway/conversation_scripts.hpp>
#include <parley/gateway/event_hub.hpp>
#include <parley/request_entry.hpp>
#include <parley/keys.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley::gateway {

event_hub::event_hub(redis::subscriber& sub) : sub_(sub) {}

void event_hub::attach() {
  sub_.on_message([this](std::string_view channel, std::string_view payload) { dispatch(channel, payload); });
  sub_.on_reconnect([this] {
    for_each([](event_sink& s) { s.on_resubscribed(); });
  });
  sub_.on_moving([this](std::string_view channel) {
    const auto token = token_of(channel);
    if (token.empty()) return;
    for (auto& s : sinks_of(token)) s->on_channel_moving();
  });
}

std::string_view event_hub::token_of(std::string_view channel) { return token_of_notify_channel(channel); }

void event_hub::add(const std::string& token, const std::shared_ptr<event_sink>& sink) {
  {
    std::lock_guard lk(mu_);
    sinks_[token].push_back(sink);
    ++count_;
  }
  sub_.subscribe(keys::notify_channel(token));
}

void event_hub::remove(const std::string& token, const event_sink* sink) {
  bool found = false;
  {
    std::lock_guard lk(mu_);
    auto it = sinks_.find(token);
    if (it == sinks_.end()) return;
    auto& v = it->second;
    auto pos = std::find_if(v.begin(), v.end(), [&](const std::weak_ptr<event_sink>& w) {
      auto p = w.lock();
      return !p || p.get() == sink;
    });
    // Sinks call remove() themselves when their socket ends (ws_session::run), not from a
    // destructor. An expired entry is a sink destroyed without that call (its coroutine ended by
    // an exception or was dropped with its io_context); one met first is erased in place of
    // `sink`, so each call still takes out one entry and one subscription reference.
    if (pos != v.end()) {
      v.erase(pos);
      --count_;
      found = true;
    }
    if (v.empty()) sinks_.erase(it);
  }
  if (found) sub_.unsubscribe(keys::notify_channel(token));
}

boost::asio::awaitable<boost::system::error_code> event_hub::wait_subscribed() {
  co_return co_await sub_.wait_subscribed();
}

std::size_t event_hub::size() const {
  std::lock_guard lk(mu_);
  return count_;
}

std::vector<std::shared_ptr<event_sink>> event_hub::sinks_of(std::string_view token) {
  std::vector<std::shared_ptr<event_sink>> out;
  std::lock_guard lk(mu_);
  auto it = sinks_.find(std::string(token));
  if (it == sinks_.end()) return out;
  for (auto& w : it->second)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

void event_hub::for_each(const std::function<void(event_sink&)>& fn) {
  std::vector<std::shared_ptr<event_sink>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [token, v] : sinks_)
      for (auto& w : v)
        if (auto s = w.lock()) all.push_back(std::move(s));
  }
  for (auto& s : all) fn(*s);
}

void event_hub::dispatch(std::string_view channel, std::string_view payload) {
  const auto token = token_of(channel);
  if (token.empty()) return;
  if (payload == conversation_scripts::deleted_notice) {
    for (auto& s : sinks_of(token)) s->on_deleted();
    return;
  }
  auto id = protocol::event_id(payload);
  if (!id) {
    spdlog::warn("event without a stream id on {} dropped", channel);
    return;
  }
  auto json = std::make_shared<const std::string>(payload);
  for (auto& s : sinks_of(token)) s->on_event(*id, json);
}

}  // namespace parley::gateway
