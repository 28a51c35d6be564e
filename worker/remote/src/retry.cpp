#include <parley/worker/remote/retry.hpp>

#include <parley/http/error.hpp>

#include <boost/asio/error.hpp>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace parley::worker::remote {

milliseconds backoff_delay(const retry_policy& policy, int retry, std::optional<milliseconds> retry_after,
                           std::mt19937_64& rng) {
  if (retry_after) return std::min(*retry_after, policy.max_retry_after);
  const int doublings = std::clamp(retry - 1, 0, 30);
  auto ceiling = policy.initial_backoff.count();
  for (int i = 0; i < doublings && ceiling < policy.max_backoff.count(); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, policy.max_backoff.count());
  std::uniform_int_distribution<long long> pick(0, std::max<long long>(ceiling, 0));
  return milliseconds(pick(rng));
}

std::optional<milliseconds> parse_retry_after(std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) {
    long long seconds = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc{} || ptr != value.data() + value.size()) return std::nullopt;
    return milliseconds(seconds * 1000);
  }
  // IMF-fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT" (RFC 9110 section 5.6.7).
  std::tm tm{};
  std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
  auto delta = std::chrono::duration_cast<milliseconds>(when - now);
  return std::max(delta, milliseconds(0));
}

bool retryable_status(unsigned status) noexcept { return status == 408 || status == 429 || status / 100 == 5; }

bool retryable_transport_error(const boost::system::error_code& ec) noexcept {
  namespace ae = boost::asio::error;
  return ec == http::errc::connect_timeout || ec == http::errc::read_timeout ||
         ec == http::errc::connection_closed || ec == ae::connection_refused || ec == ae::connection_reset ||
         ec == ae::connection_aborted || ec == ae::host_unreachable || ec == ae::network_unreachable ||
         ec == ae::timed_out || ec == ae::broken_pipe || ec == ae::eof;
}

}  // namespace parley::worker::remote
