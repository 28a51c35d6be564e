#include <parley/gateway/metrics.hpp>
#include <parley/prometheus.hpp>

namespace parley::gateway {

namespace pm = prometheus;

void gateway_metrics::http_response(unsigned status) noexcept {
  const std::size_t cls = status / 100;
  if (cls >= 1 && cls < http_by_class_.size()) http_by_class_[cls].fetch_add(1, relaxed);
}

void gateway_metrics::error_frame(api_errc code) noexcept {
  const auto i = static_cast<std::size_t>(code);
  if (i < error_frames_.size()) error_frames_[i].fetch_add(1, relaxed);
}

std::uint64_t gateway_metrics::errors(api_errc code) const noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < error_frames_.size() ? error_frames_[i].load(relaxed) : 0;
}

void gateway_metrics::write(std::string& out, const gateway_gauges& live) const {
  pm::header(out, "parley_gateway_http_responses_total", "counter", "HTTP responses written, by status class");
  for (std::size_t cls = 1; cls < http_by_class_.size(); ++cls) {
    const std::string label = "code=\"" + std::to_string(cls) + "xx\"";
    pm::sample(out, "parley_gateway_http_responses_total", label, static_cast<double>(http_by_class_[cls].load(relaxed)));
  }
  pm::counter(out, "parley_gateway_sessions_created_total",
              "Sessions created by POST /token and POST /api/conversations", sessions_created_.load(relaxed));
  pm::counter(out, "parley_gateway_users_created_total", "People created by POST /api/users",
              users_created_.load(relaxed));
  pm::counter(out, "parley_gateway_websockets_opened_total", "WebSocket connections accepted on /chat",
              websockets_opened_.load(relaxed));
  pm::gauge(out, "parley_gateway_websockets_open", "WebSocket connections open now",
            static_cast<double>(live.websockets_open));
  pm::header(out, "parley_gateway_messages_total", "counter",
             "Chat messages acknowledged: stored and queued (new) or recognised by client_id (duplicate)");
  pm::sample(out, "parley_gateway_messages_total", "result=\"new\"", static_cast<double>(messages_accepted_.load(relaxed)));
  pm::sample(out, "parley_gateway_messages_total", "result=\"duplicate\"",
             static_cast<double>(messages_duplicate_.load(relaxed)));
  pm::header(out, "parley_gateway_error_frames_total", "counter", "Error frames sent to clients, by code");
  for (std::size_t i = 1; i < error_frames_.size(); ++i) {
    const std::string label = "code=\"" + std::string(wire_name(static_cast<api_errc>(i))) + "\"";
    pm::sample(out, "parley_gateway_error_frames_total", label, static_cast<double>(error_frames_[i].load(relaxed)));
  }
  pm::counter(out, "parley_gateway_slow_clients_closed_total",
              "Connections dropped because their send queue overflowed", slow_clients_closed_.load(relaxed));
  pm::gauge(out, "parley_gateway_redis_connected", "1 while the Redis connection is up", live.redis_connected ? 1 : 0);
  pm::gauge(out, "parley_gateway_request_queue_depth", "Last sampled depth of the request stream",
            static_cast<double>(live.request_queue_depth));
  if (live.workers_alive >= 0)
    pm::gauge(out, "parley_gateway_workers_alive", "Workers whose presence record was alive at the last sample",
              static_cast<double>(live.workers_alive));
  pm::gauge(out, "parley_gateway_busy", "1 while new messages are refused with busy", live.busy ? 1 : 0);
}

}  // namespace parley::gateway
