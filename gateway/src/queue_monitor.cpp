#include <parley/gateway/queue_monitor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace parley::gateway {

queue_monitor::queue_monitor(net::any_io_executor ex, session_store& store, const gateway_config& cfg)
    : ex_(ex), store_(store), interval_(cfg.queue_sample_interval), max_queue_(cfg.max_queue), timer_(ex) {}

void queue_monitor::start() { net::co_spawn(ex_, loop(), net::detached); }

void queue_monitor::stop() {
  stopped_ = true;
  net::post(ex_, [this] { timer_.cancel(); });
}

net::awaitable<void> queue_monitor::loop() {
  bool was_busy = false;
  while (!stopped_) {
    auto d = co_await store_.queue_depth(max_queue_);
    // On a storage error the last sample stays: messages fail with `unavailable` anyway.
    if (d) depth_.store(*d, std::memory_order_relaxed);
    if (busy() != was_busy) {
      was_busy = busy();
      spdlog::info("request queue depth {}: {}", depth(), was_busy ? "refusing new messages (busy)" : "accepting again");
    }
    timer_.expires_after(interval_);
    co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
  }
}

}  // namespace parley::gateway
