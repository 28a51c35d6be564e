#include <parley/gateway/queue_monitor.hpp>
#include <parley/request_shards.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley::gateway {

namespace {
// Queue samples between two checks of REQUEST_SHARDS against Redis (request_shards.hpp).
constexpr int samples_between_shard_checks = 30;
}  // namespace

queue_monitor::queue_monitor(net::any_io_executor ex, session_store& store, const gateway_config& cfg,
                             std::function<void(std::string)> on_config_error)
    : ex_(ex),
      store_(store),
      interval_(cfg.queue_sample_interval),
      max_queue_(cfg.max_queue),
      on_config_error_(std::move(on_config_error)),
      timer_(ex) {}

void queue_monitor::start() { net::co_spawn(ex_, loop(), net::detached); }

void queue_monitor::stop() {
  stopped_ = true;
  net::post(ex_, [this] { timer_.cancel(); });
}

net::awaitable<void> queue_monitor::loop() {
  bool was_busy = false;
  int samples_to_check = 0;
  while (!stopped_) {
    if (samples_to_check == 0) {
      auto agreed = co_await check_request_shards(store_.redis(), store_.request_shards());
      if (agreed && *agreed && on_config_error_) on_config_error_(**agreed);
      // Until it could be read, every sample; then rarely, as a process that disagrees exits
      // when it starts and the key goes away only with the data (FLUSHALL, a lost Redis).
      samples_to_check = agreed ? samples_between_shard_checks : 0;
    } else {
      --samples_to_check;
    }
    auto d = co_await store_.sample_queues(max_queue_);
    // On a storage error the last sample stays: messages fail with `unavailable` anyway.
    if (d) {
      long long depth = 0;
      for (const auto& shard : *d) depth += shard.depth();
      depth_.store(depth, std::memory_order_relaxed);
      estimator_.observe(*d, wait_estimator::clock::now());
      rate_.store(estimator_.rate().value_or(-1), std::memory_order_relaxed);
      auto snap = std::make_shared<const std::vector<queue_sample>>(std::move(*d));
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

queue_place queue_monitor::place(int shard, const protocol::stream_id& request) const {
  std::shared_ptr<const std::vector<queue_sample>> s;
  {
    std::lock_guard lk(sample_mu_);
    s = sample_;
  }
  return place_in(s ? *s : std::vector<queue_sample>{}, shard, request, rate_.load(std::memory_order_relaxed));
}

queue_place place_in(const std::vector<queue_sample>& shards, int shard, const protocol::stream_id& request,
                     double rate) {
  queue_place out;
  if (shard < 0 || static_cast<std::size_t>(shard) >= shards.size()) return {true, 0, false, std::nullopt};
  if (request <= shards[static_cast<std::size_t>(shard)].last_delivered) return out;
  out.waiting = true;
  for (const auto& s : shards) {
    const auto it = std::lower_bound(s.waiting.begin(), s.waiting.end(), request);
    out.ahead += it - s.waiting.begin();
    // Past a cut sample's last id, entries before ours may have been left out.
    if (s.capped && it == s.waiting.end()) out.more = true;
  }
  if (rate > 0 && !out.more) out.eta = wait_estimator::eta(out.ahead, rate);
  return out;
}

}  // namespace parley::gateway
