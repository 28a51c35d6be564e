#include <parley/worker/remote/stop_wait.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace parley::worker::remote {

namespace {

// Cancels `timer` on its own executor when `stop` is requested; the timer is held weakly so a
// late stop request after the wait finished does nothing.
std::stop_callback<std::function<void()>> cancel_on_stop(std::stop_token stop,
                                                         const std::shared_ptr<net::steady_timer>& timer) {
  return std::stop_callback<std::function<void()>>(
      std::move(stop), [weak = std::weak_ptr<net::steady_timer>(timer), ex = timer->get_executor()] {
        net::post(ex, [weak] {
          if (auto t = weak.lock()) t->cancel();
        });
      });
}

}  // namespace

net::awaitable<bool> sleep_unless_stopped(std::chrono::milliseconds d, std::stop_token stop) {
  if (stop.stop_requested()) co_return false;
  auto timer = std::make_shared<net::steady_timer>(co_await net::this_coro::executor, d);
  auto guard = cancel_on_stop(stop, timer);
  co_await timer->async_wait(net::as_tuple(net::use_awaitable));
  co_return !stop.stop_requested();
}

struct in_flight_limiter::waiter {
  explicit waiter(net::any_io_executor ex)
      : timer(std::make_shared<net::steady_timer>(ex, net::steady_timer::time_point::max())) {}
  std::shared_ptr<net::steady_timer> timer;
  bool granted = false;  // guarded by the limiter's mutex
};

net::awaitable<in_flight_limiter::permit> in_flight_limiter::acquire(std::stop_token stop) {
  if (stop.stop_requested()) co_return permit{};
  auto w = std::make_shared<waiter>(co_await net::this_coro::executor);
  {
    std::lock_guard lock(mutex_);
    if (in_use_ < limit_ && waiters_.empty()) {
      ++in_use_;
      co_return permit{this};
    }
    waiters_.push_back(w);
  }
  auto guard = cancel_on_stop(stop, w->timer);
  co_await w->timer->async_wait(net::as_tuple(net::use_awaitable));
  std::lock_guard lock(mutex_);
  if (w->granted) {
    // Granted and stopped at once: the slot is ours; the caller sees the stop and lets it go.
    co_return permit{this};
  }
  waiters_.remove(w);
  co_return permit{};
}

void in_flight_limiter::release() {
  std::lock_guard lock(mutex_);
  if (waiters_.empty()) {
    --in_use_;
    return;
  }
  auto next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;  // the slot passes directly to the next waiter; in_use_ is unchanged
  net::post(next->timer->get_executor(), [t = next->timer] { t->cancel(); });
}

std::size_t in_flight_limiter::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t in_flight_limiter::waiting() const {
  std::lock_guard lock(mutex_);
  return waiters_.size();
}

}  // namespace parley::worker::remote
