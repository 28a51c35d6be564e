#pragma once
// Waiting that a std::stop_token can interrupt: a sleep (backoff, model loading) and a bound on
// requests in flight. A stop request may come from any thread; it is posted to the executor
// of the waiting coroutine, which must be single-threaded or a strand.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <stop_token>
#include <utility>

namespace parley::worker::remote {

namespace net = boost::asio;

// Sleeps for `d`; returns false (early) when stop was requested.
net::awaitable<bool> sleep_unless_stopped(std::chrono::milliseconds d, std::stop_token stop);

// A counting semaphore for coroutines: at most `limit` holders; waiters are served in order.
// Thread-safe: acquire and release may run on different threads and executors.
class in_flight_limiter {
 public:
  explicit in_flight_limiter(std::size_t limit) : limit_(limit) {}

  class permit {
   public:
    permit() = default;
    explicit permit(in_flight_limiter* owner) : owner_(owner) {}
    permit(permit&& o) noexcept : owner_(std::exchange(o.owner_, nullptr)) {}
    permit& operator=(permit&& o) noexcept {
      if (this != &o) {
        reset();
        owner_ = std::exchange(o.owner_, nullptr);
      }
      return *this;
    }
    ~permit() { reset(); }
    explicit operator bool() const noexcept { return owner_ != nullptr; }
    void reset() {
      if (owner_) std::exchange(owner_, nullptr)->release();
    }

   private:
    in_flight_limiter* owner_ = nullptr;
  };

  // Waits for a free slot; an empty permit when stop was requested first.
  net::awaitable<permit> acquire(std::stop_token stop);

  std::size_t in_use() const;
  std::size_t waiting() const;

 private:
  struct waiter;
  void release();

  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::size_t in_use_ = 0;
  std::list<std::shared_ptr<waiter>> waiters_;
};

}  // namespace parley::worker::remote
