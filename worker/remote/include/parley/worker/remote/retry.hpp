#pragma once
// Retry timing shared by the remote backends: exponential backoff with full jitter, bounded,
// and the server's Retry-After honoured when it sends one.
#include <boost/system/error_code.hpp>

#include <chrono>
#include <optional>
#include <random>
#include <string_view>

namespace parley::worker::remote {

using std::chrono::milliseconds;

struct retry_policy {
  int max_attempts = 4;                // requests per generation, the first one included
  milliseconds initial_backoff{500};   // the first retry waits up to this long
  milliseconds max_backoff{20'000};    // exponential growth stops here
  // A Retry-After longer than this is not waited out: the turn fails at once with the
  // upstream's error (the worker's own retry and dead-letter logic take over).
  milliseconds max_retry_after{60'000};
};

// The wait before retry number `retry` (1 for the first retry): a uniformly random duration in
// [0, min(max_backoff, initial_backoff * 2^(retry-1))], or exactly `retry_after` when the server
// sent one (which may exceed max_backoff, up to max_retry_after).
milliseconds backoff_delay(const retry_policy& policy, int retry, std::optional<milliseconds> retry_after,
                           std::mt19937_64& rng);

// Parses a Retry-After header: delay-seconds or an HTTP-date (relative to `now`). Garbage is nullopt.
std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              std::chrono::system_clock::time_point now =
                                                  std::chrono::system_clock::now());

// Statuses worth another attempt: 408, 429 and 5xx.
bool retryable_status(unsigned status) noexcept;

// Transport failures worth another attempt when nothing has been delivered yet: refused or
// reset connections, timeouts, a connection closed early. TLS verification and bad URLs are not.
bool retryable_transport_error(const boost::system::error_code& ec) noexcept;

}  // namespace parley::worker::remote
