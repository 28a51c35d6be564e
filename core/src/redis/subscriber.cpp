#include <parley/redis/subscriber.hpp>

#include "completion.hpp"
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <unordered_map>

namespace parley::redis {

namespace {
using boost::system::error_code;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
}  // namespace

// State on strand_ only. `channels_` is the wanted set with reference counts; on every connect
// all of it is subscribed again. `unconfirmed_` counts SUBSCRIBE confirmations still expected on
// the current connection; waiters of wait_subscribed() complete when it reaches zero.
class subscriber_impl : public detail::connection_base<subscriber_impl> {
 public:
  subscriber_impl(net::any_io_executor ex, config cfg)
      : connection_base(std::move(ex), std::move(cfg), "redis pub/sub") {}

  void on_message(subscriber::message_handler fn) { on_message_ = std::move(fn); }
  void on_reconnect(std::function<void()> fn) { on_reconnect_ = std::move(fn); }

  void subscribe(const std::string& channel) {
    net::dispatch(strand_, [self = shared_from_this(), channel] {
      if (++self->channels_[channel] == 1 && self->connected()) self->send({"SUBSCRIBE", channel});
    });
  }

  void unsubscribe(const std::string& channel) {
    net::dispatch(strand_, [self = shared_from_this(), channel] {
      auto it = self->channels_.find(channel);
      if (it == self->channels_.end()) return;
      if (--it->second == 0) {
        self->channels_.erase(it);
        if (self->connected()) self->send({"UNSUBSCRIBE", channel});
      }
    });
  }

  template <class Token>
  auto async_wait_subscribed(Token&& token) {
    return net::async_initiate<Token, void(error_code)>(
        [self = shared_from_this()](auto handler) {
          auto done = detail::bind_completion<error_code>(std::move(handler), self->strand_);
          net::dispatch(self->strand_, [self, done = std::move(done)]() mutable {
            if (self->stopped_) return done(errc::shut_down);
            if (!self->connected()) return done(errc::not_connected);
            if (self->unconfirmed_ == 0) return done(error_code{});
            self->waiters_.push_back(std::move(done));
          });
        },
        token);
  }

 private:
  friend class detail::connection_base<subscriber_impl>;

  void send(const command& cmd) {
    if (cmd.front() == "SUBSCRIBE") unconfirmed_ += cmd.size() - 1;
    detail::encode(cmd, pending_);
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
    unconfirmed_ = 0;
    if (!channels_.empty()) {
      command cmd{"SUBSCRIBE"};
      for (const auto& [ch, n] : channels_) cmd.push_back(ch);
      send(cmd);
    }
    // Consumers resynchronise once the re-subscription is confirmed (nothing published after
    // that point can be missed); with no channels there is nothing to resynchronise.
    resync_pending_ = had_connection_ && unconfirmed_ > 0;
  }
  void on_teardown() {}
  void on_open_failed(error_code) {}
  void on_lost() { release_waiters(errc::connection_lost); }
  void on_stopped() { release_waiters(errc::shut_down); }

  loops_type connection_loops() {
    loops_type loops;
    loops.push_back([this] { return write_loop(); });
    return loops;
  }

  // Pushed messages and subscription confirmations; anything else is ignored.
  bool on_reply(value v) {
    if (!v.is_array() || v.elements.size() < 3) return true;
    auto kind = v.elements[0].as_string();
    if (!kind) return true;
    if (*kind == "message") {
      auto ch = v.elements[1].as_string();
      auto payload = v.elements[2].as_string();
      if (ch && payload && on_message_) on_message_(*ch, *payload);
    } else if (*kind == "subscribe") {
      confirmed();
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

  std::unordered_map<std::string, int> channels_;
  std::string pending_;
  std::size_t unconfirmed_ = 0;
  std::deque<detail::unique_function<void(error_code)>> waiters_;
  subscriber::message_handler on_message_;
  std::function<void()> on_reconnect_;
  bool resync_pending_ = false;
};

subscriber::subscriber(net::any_io_executor ex, config cfg)
    : impl_(std::make_shared<subscriber_impl>(std::move(ex), std::move(cfg))) {}
subscriber::~subscriber() { impl_->stop(); }
void subscriber::on_message(message_handler fn) { impl_->on_message(std::move(fn)); }
void subscriber::on_reconnect(std::function<void()> fn) { impl_->on_reconnect(std::move(fn)); }
void subscriber::start() { impl_->start(); }
void subscriber::stop() { impl_->stop(); }
void subscriber::subscribe(const std::string& channel) { impl_->subscribe(channel); }
void subscriber::unsubscribe(const std::string& channel) { impl_->unsubscribe(channel); }
bool subscriber::connected() const noexcept { return impl_->connected(); }

net::awaitable<boost::system::error_code> subscriber::wait_subscribed() {
  auto impl = impl_;
  auto [ec] = co_await impl->async_wait_subscribed(use_tuple);
  co_return ec;
}

}  // namespace parley::redis
