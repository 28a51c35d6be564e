#include <parley/worker/remote/openai_backend.hpp>

#include <parley/cli.hpp>
#include <parley/prometheus.hpp>

#include <parley/http/sse.hpp>
#include <parley/worker/remote/errors.hpp>
#include <parley/worker/remote/prompt.hpp>

#include "openai_chunk.hpp"
#include "upstream_text.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace parley::worker::remote {

namespace json = boost::json;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

namespace {

constexpr std::size_t stream_read_bytes = 8192;

std::optional<std::chrono::milliseconds> retry_after_of(const http::response_stream& s) {
  auto it = s.headers().find(boost::beast::http::field::retry_after);
  if (it == s.headers().end()) return std::nullopt;
  return parse_retry_after(it->value());
}

}  // namespace

void register_options(CLI::App& app, openai_config& cfg) {
  using std::chrono::milliseconds;
  app.add_option("--openai-base-url", cfg.base_url, "OpenAI-compatible server; /v1/chat/completions is appended")
      ->envname("OPENAI_BASE_URL")
      ->capture_default_str();
  // No default is captured: --help must never print a key.
  app.add_option("--openai-api-key", cfg.api_key, "API key, sent as a Bearer token (never logged)")
      ->envname("OPENAI_API_KEY");
  app.add_option("--openai-model", cfg.model, "Model name sent in each request")
      ->envname("OPENAI_MODEL")
      ->capture_default_str();
  app.add_option("--openai-context-tokens", cfg.context_tokens,
                 "Context budget (estimated tokens) for prompt + reply; older turns are dropped to fit")
      ->envname("OPENAI_CONTEXT_TOKENS")
      ->check(CLI::Range(64, 10'000'000))
      ->capture_default_str();
  app.add_option("--openai-max-in-flight", cfg.max_in_flight, "Requests open at once from this worker")
      ->envname("OPENAI_MAX_IN_FLIGHT")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--openai-send-top-k", cfg.send_top_k, "Send top_k (llama-server, vLLM; not OpenAI)")
      ->envname("OPENAI_SEND_TOP_K")
      ->capture_default_str();
  app.add_option("--openai-include-usage", cfg.include_usage, "Ask for token usage in the stream")
      ->envname("OPENAI_INCLUDE_USAGE")
      ->capture_default_str();
  add_duration_option(app, "--openai-connect-timeout", cfg.http.connect_timeout,
                      "Connect + TLS handshake budget", "OPENAI_CONNECT_TIMEOUT", milliseconds(1000));
  add_duration_option(app, "--openai-read-timeout", cfg.http.read_timeout,
                      "Longest silence from the server mid-response",
                      "OPENAI_READ_TIMEOUT", milliseconds(1000));
  app.add_option("--openai-ca-file", cfg.http.tls.ca_file, "Extra trusted CA certificates (PEM)")
      ->envname("OPENAI_CA_FILE");
  app.add_option("--openai-max-attempts", cfg.retry.max_attempts, "Requests per reply on 408/429/5xx or connect errors")
      ->envname("OPENAI_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  add_duration_option(app, "--openai-initial-backoff", cfg.retry.initial_backoff,
                      "First retry waits up to this long, doubling after",
                      "OPENAI_INITIAL_BACKOFF", milliseconds(1));
  add_duration_option(app, "--openai-max-backoff", cfg.retry.max_backoff, "Cap of the exponential backoff",
                      "OPENAI_MAX_BACKOFF", milliseconds(1));
  add_duration_option(app, "--openai-max-retry-after", cfg.retry.max_retry_after,
                      "Longest Retry-After waited out; longer fails the attempt",
                      "OPENAI_MAX_RETRY_AFTER", milliseconds(1000));
  cfg.http.proxy = http::proxy_settings::from_env();
}

result<std::unique_ptr<openai_backend>> openai_backend::create(openai_config cfg, std::string* why) {
  auto fail = [why](std::string msg, error_code ec) -> result<std::unique_ptr<openai_backend>> {
    if (why) *why = std::move(msg);
    return ec;
  };
  auto base = http::parse_url(cfg.base_url);
  if (!base) return fail("OPENAI_BASE_URL is not an http(s) URL: " + cfg.base_url, base.error());
  if (cfg.max_in_flight < 1) return fail("OPENAI_MAX_IN_FLIGHT must be at least 1", http::errc::invalid_url);
  if (auto p = cfg.http.proxy.for_target(*base); !p) return fail("the proxy URL for " + base->str() + " is not usable", p.error());
  auto client = http::client::create(cfg.http);
  if (!client) return fail("cannot set up TLS (CA file " + cfg.http.tls.ca_file + ")", client.error());
  return std::unique_ptr<openai_backend>(new openai_backend(std::move(cfg), std::move(*client)));
}

openai_backend::openai_backend(openai_config cfg, http::client client)
    : cfg_(std::move(cfg)), client_(std::move(client)), limiter_(cfg_.max_in_flight) {
  endpoint_ = cfg_.base_url;
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  // Accept a base URL given with or without the "/v1" that OpenAI's own clients include.
  if (!endpoint_.ends_with("/v1")) endpoint_ += "/v1";
  endpoint_ += "/chat/completions";
}

std::string openai_backend::request_body(const generation_request& req) const {
  const auto& s = req.sampling;
  int budget = cfg_.context_tokens - s.max_new_tokens;
  if (!req.system_prompt.empty()) budget -= estimate_tokens(req.system_prompt) + estimated_tokens_per_message;
  json::array messages;
  if (!req.system_prompt.empty()) messages.push_back({{"role", "system"}, {"content", req.system_prompt}});
  for (const auto& t : trim_history(req.history, budget))
    messages.push_back({{"role", t.speaker == chat_turn::role::user ? "user" : "assistant"}, {"content", t.text}});
  json::object body{{"model", cfg_.model},
                    {"messages", std::move(messages)},
                    {"stream", true},
                    {"max_tokens", s.max_new_tokens},
                    {"temperature", s.temperature},
                    {"top_p", s.top_p}};
  if (cfg_.send_top_k) body["top_k"] = s.top_k;
  if (s.seed) body["seed"] = *s.seed;
  if (!s.stop.empty()) {
    json::array stops;
    for (const auto& x : s.stop) stops.push_back(json::value(x));
    body["stop"] = std::move(stops);
  }
  if (cfg_.include_usage) body["stream_options"] = {{"include_usage", true}};
  return json::serialize(body);
}

net::awaitable<result<generation_result>> openai_backend::generate(generation_request req, delta_handler on_delta,
                                                                   std::stop_token stop) {
  generation_result out;
  out.reason = finish_reason::cancelled;
  auto permit = co_await limiter_.acquire(stop);
  if (!permit || stop.stop_requested()) {
    cancelled_.fetch_add(1, std::memory_order_relaxed);
    co_return out;
  }
  const std::string body = request_body(req);
  auto one = [&](int) -> net::awaitable<attempt_verdict> {
    requests_.fetch_add(1, std::memory_order_relaxed);
    co_return co_await attempt(body, out, on_delta, stop);
  };
  auto retrying = [&](int n, const attempt_verdict& v, std::chrono::milliseconds delay) {
    retries_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("openai: attempt {} for message {} failed ({}); retrying in {} ms", n, req.message_id,
                 v.ec.message(), delay.count());
  };
  const auto v = co_await with_retries(cfg_.retry, backoff_, stop, one, retrying);
  switch (v.what) {
    case attempt_verdict::kind::done:
      completions_.fetch_add(1, std::memory_order_relaxed);
      co_return out;
    case attempt_verdict::kind::cancelled:
      cancelled_.fetch_add(1, std::memory_order_relaxed);
      out.reason = finish_reason::cancelled;
      co_return out;
    case attempt_verdict::kind::retry:
    case attempt_verdict::kind::fail:
      break;
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("openai: request {} for message {} failed: {}", endpoint_, req.message_id, v.ec.message());
  co_return v.ec;
}

net::awaitable<attempt_verdict> openai_backend::attempt(const std::string& body, generation_result& out,
                                                        delta_handler& on_delta, std::stop_token stop) {
  using kind = attempt_verdict::kind;
  http::request hr;
  hr.method = boost::beast::http::verb::post;
  hr.url = endpoint_;
  hr.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!cfg_.api_key.empty()) hr.headers.emplace_back("Authorization", "Bearer " + cfg_.api_key);
  hr.body = body;

  auto retry_or_fail = [&](error_code ec) -> attempt_verdict {
    if (stop.stop_requested()) return {kind::cancelled, ec, {}};
    // Once part of the reply reached the client, another attempt would repeat it.
    if (out.text.empty() && retryable_transport_error(ec)) return {kind::retry, ec, {}};
    if (ec == http::errc::connection_closed) ec = errc::broken_stream;
    return {kind::fail, ec, {}};
  };

  auto s = co_await client_.open(std::move(hr), stop);
  if (!s) co_return retry_or_fail(s.error());

  if (s->status() != 200) {
    auto text = co_await s->read_all();
    spdlog::warn("openai: {} answered {}: {}", endpoint_, s->status(),
                 redact(text ? error_message(*text) : text.error().message(), cfg_.api_key));
    const auto after = retry_after_of(*s);
    if (s->status() == 429) co_return attempt_verdict{kind::retry, errc::rate_limited, after};
    if (retryable_status(s->status())) co_return attempt_verdict{kind::retry, errc::upstream_unavailable, after};
    co_return attempt_verdict{kind::fail, errc::upstream_rejected, {}};
  }

  http::sse_parser parser;
  std::vector<http::sse_event> events;
  bool done = false;
  bool finished = false;
  int pieces = 0;
  char buf[stream_read_bytes];
  while (!done) {
    auto n = co_await s->read_some(buf);
    if (!n) co_return retry_or_fail(n.error());
    if (*n == 0) break;
    if (!parser.feed(std::string_view(buf, *n), events)) co_return attempt_verdict{kind::fail, errc::malformed_response, {}};
    for (auto& ev : events) {
      auto chunk = parse_chat_chunk(ev.data);
      if (!chunk) {
        spdlog::warn("openai: {} in the stream: {}", chunk.error().message(),
                     redact(chunk.error() == errc::upstream_error ? error_message(ev.data) : ev.data, cfg_.api_key));
        co_return attempt_verdict{kind::fail, chunk.error(), {}};
      }
      if (chunk->done) {
        done = true;
        break;
      }
      for (const auto& piece : chunk->pieces) {
        if (stop.stop_requested()) break;
        out.text.append(piece);
        ++pieces;
        deltas_.fetch_add(1, std::memory_order_relaxed);
        on_delta(piece);
      }
      if (chunk->finish) {
        finished = true;
        out.reason = *chunk->finish;
      }
      if (chunk->prompt_tokens) out.prompt_tokens = *chunk->prompt_tokens;
      if (chunk->completion_tokens) out.generated_tokens = *chunk->completion_tokens;
      if (chunk->cached_tokens) out.cached_tokens = *chunk->cached_tokens;
    }
    events.clear();
    if (stop.stop_requested()) co_return attempt_verdict{kind::cancelled, {}, {}};
  }
  if (!done && !finished) {
    spdlog::warn("openai: stream from {} ended without [DONE] or finish_reason after {} bytes of reply", endpoint_,
                 out.text.size());
    co_return out.text.empty() ? attempt_verdict{kind::retry, errc::broken_stream, {}}
                               : attempt_verdict{kind::fail, errc::broken_stream, {}};
  }
  if (out.generated_tokens == 0) out.generated_tokens = pieces;
  co_return attempt_verdict{kind::done, {}, {}};
}

void openai_backend::write_metrics(std::string& out) const {
  namespace pm = parley::prometheus;
  pm::counter(out, "parley_openai_requests_total", "HTTP requests sent to the OpenAI-compatible server", requests_.load());
  pm::counter(out, "parley_openai_retries_total", "Requests retried after 408/429/5xx or a connect failure",
              retries_.load());
  pm::counter(out, "parley_openai_failures_total", "Replies failed after all attempts", failures_.load());
  pm::counter(out, "parley_openai_cancelled_total", "Replies stopped by the client", cancelled_.load());
  pm::counter(out, "parley_openai_completions_total", "Replies completed", completions_.load());
  pm::counter(out, "parley_openai_deltas_total", "Content deltas received", deltas_.load());
  pm::gauge(out, "parley_openai_in_flight", "Requests open now", static_cast<double>(limiter_.in_use()));
  pm::gauge(out, "parley_openai_waiting", "Requests waiting for a free in-flight slot",
            static_cast<double>(limiter_.waiting()));
}

}  // namespace parley::worker::remote
