#include <parley/gateway/queue_monitor.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

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
    auto d = co_await store_.sample_queue(max_queue_);
    // On a storage error the last sample stays: messages fail with `unavailable` anyway.
    if (d) {
      depth_.store(d->depth(), std::memory_order_relaxed);
      estimator_.observe(*d, wait_estimator::clock::now());
      rate_.store(estimator_.rate().value_or(-1), std::memory_order_relaxed);
      auto snap = std::make_shared<const queue_sample>(std::move(*d));
      std::lock_guard lk(sample_mu_);
      sample_ = std::move(snap);
    }
    auto w = co_await store_.workers_alive();
    if (w) {
      const auto before = workers_.exchange(*w, std::memory_order_relaxed);
      if ((before > 0) != (*w > 0))
        spdlog::info("{} worker(s) alive{}", *w, *w == 0 ? ": messages wait until one starts" : "");
    }
    if (busy() != was_busy) {
      was_busy = busy();
      spdlog::info("request queue depth {}: {}", depth(), was_busy ? "refusing new messages (busy)" : "accepting again");
    }
    timer_.expires_after(interval_);
    co_await timer_.async_wait(net::as_tuple(net::use_awaitable));
  }
}

queue_monitor::queue_place queue_monitor::place(const protocol::stream_id& request) const {
  std::shared_ptr<const queue_sample> s;
  {
    std::lock_guard lk(sample_mu_);
    s = sample_;
  }
  queue_place out;
  if (!s) return {true, 0, false, std::nullopt};
  if (request <= s->last_delivered) return out;
  out.waiting = true;
  const auto it = std::lower_bound(s->waiting.begin(), s->waiting.end(), request);
  out.ahead = it - s->waiting.begin();
  // Past the sample's last id, a cut sample may have missed entries before it.
  out.more = s->capped && it == s->waiting.end();
  if (const double rate = rate_.load(std::memory_order_relaxed); rate > 0 && !out.more)
    out.eta = wait_estimator::eta(out.ahead, rate);
  return out;
}

}  // namespace parley::gateway
