#pragma once
// The one retry loop of the remote backends (hf, openai): each backend supplies one attempt (a
// request and its response) and says what became of it; when to try again, how long to wait
// (retry.hpp's backoff with jitter, or the server's Retry-After) and when to give up is decided
// here, once. Thread-safety: backoff_source is thread-safe (one per backend, shared by its
// concurrent generations); with_retries runs on the caller's executor.
#include <parley/worker/remote/retry.hpp>
#include <parley/worker/remote/stop_wait.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <mutex>
#include <optional>
#include <random>
#include <stop_token>

namespace parley::worker::remote {

// What one attempt came to.
struct attempt_verdict {
  // retry: failed in a way another attempt may cure (ec says how; retry_after when the server
  // named a wait). fail: failed for good.
  enum class kind { done, cancelled, retry, fail };
  kind what = kind::done;
  boost::system::error_code ec;
  std::optional<milliseconds> retry_after;
};

// Whether attempt number `attempt` (1-based), which asked for a retry, gets another one: not
// when it was the last the policy allows, nor when the server asks for a longer wait than the
// policy waits out.
inline bool worth_another(const retry_policy& p, int attempt, std::optional<milliseconds> retry_after) noexcept {
  return attempt < p.max_attempts && !(retry_after && *retry_after > p.max_retry_after);
}

class backoff_source {
 public:
  backoff_source() : rng_(std::random_device{}()) {}
  milliseconds delay(const retry_policy& p, int retry, std::optional<milliseconds> retry_after) {
    std::lock_guard lock(mutex_);
    return backoff_delay(p, retry, retry_after, rng_);
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 rng_;
};

// Runs attempt(n) for n = 1, 2, ... until one is done, cancelled or fails for good, or the
// policy gives up (the last verdict comes back as `fail` with its error). Between attempts it
// calls on_retry(n, verdict, delay) and waits `delay`, unless `stop` is requested (then
// `cancelled`). Attempt: int -> net::awaitable<attempt_verdict>; OnRetry: a plain callable.
template <class Attempt, class OnRetry>
boost::asio::awaitable<attempt_verdict> with_retries(const retry_policy& policy, backoff_source& backoff,
                                                     std::stop_token stop, Attempt attempt, OnRetry on_retry) {
  for (int n = 1;; ++n) {
    attempt_verdict v = co_await attempt(n);
    if (v.what != attempt_verdict::kind::retry) co_return v;
    if (!worth_another(policy, n, v.retry_after)) {
      v.what = attempt_verdict::kind::fail;
      co_return v;
    }
    const auto delay = backoff.delay(policy, n, v.retry_after);
    on_retry(n, v, delay);
    if (!co_await sleep_unless_stopped(delay, stop)) co_return attempt_verdict{attempt_verdict::kind::cancelled, {}, {}};
  }
}

}  // namespace parley::worker::remote
