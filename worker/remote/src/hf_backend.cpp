#include <parley/worker/remote/hf_backend.hpp>

#include <parley/cli.hpp>
#include <parley/prometheus.hpp>

#include <parley/worker/remote/errors.hpp>
#include <parley/worker/remote/prompt.hpp>

#include "upstream_text.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace parley::worker::remote {

namespace json = boost::json;
using boost::system::error_code;
using std::chrono::milliseconds;
template <class T>
using result = boost::system::result<T>;

namespace {

// Where the transcript form has the model continue the conversation by itself.
constexpr std::string_view next_human_turn = "Human:";

// The generated text of a [{"generated_text": "..."}] body, or nullopt for any other shape.
std::optional<std::string> generated_text(std::string_view body) {
  error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_array() || v.get_array().empty()) return std::nullopt;
  const auto& first = v.get_array()[0];
  if (!first.is_object()) return std::nullopt;
  auto* text = first.get_object().if_contains("generated_text");
  if (!text || !text->is_string()) return std::nullopt;
  return std::string(text->get_string());
}

// The "estimated_time" (seconds) of a 503 model-loading body.
std::optional<milliseconds> loading_estimate(std::string_view body) {
  error_code ec;
  auto v = json::parse(body, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto* t = v.get_object().if_contains("estimated_time");
  if (!t || !t->is_number()) return std::nullopt;
  double seconds = t->to_number<double>(ec);
  if (ec || seconds < 0) return std::nullopt;
  return milliseconds(static_cast<long long>(seconds * 1000));
}

}  // namespace

void register_options(CLI::App& app, hf_config& cfg) {
  app.add_option("--hf-model-url", cfg.model_url, "Hugging Face Inference API model URL")
      ->envname("MODEL_URL")
      ->capture_default_str();
  // HF_TOKEN (the Hub's usual variable) fills the default; the seed's variable wins when set.
  if (const char* t = std::getenv("HF_TOKEN"); t && *t) cfg.token = t;
  app.add_option("--hf-token", cfg.token, "Inference API token, sent as a Bearer token (never logged); also HF_TOKEN")
      ->envname("HUGGINFACE_INFERENCE_TOKEN");
  app.add_option("--hf-use-cache", cfg.use_cache, "The API's use_cache parameter")
      ->envname("HF_USE_CACHE")
      ->capture_default_str();
  app.add_option("--hf-send-sampling", cfg.send_sampling, "Also send temperature, top_p and top_k")
      ->envname("HF_SEND_SAMPLING")
      ->capture_default_str();
  app.add_option("--hf-context-tokens", cfg.context_tokens, "Context budget (estimated tokens) for transcript + reply")
      ->envname("HF_CONTEXT_TOKENS")
      ->check(CLI::Range(64, 10'000'000))
      ->capture_default_str();
  add_duration_option(app, "--hf-max-loading-wait", cfg.max_loading_wait,
                      "Total wait for a model that is loading (503)",
                      "HF_MAX_LOADING_WAIT", milliseconds(1000));
  add_duration_option(app, "--hf-connect-timeout", cfg.http.connect_timeout, "Connect + TLS handshake budget",
                      "HF_CONNECT_TIMEOUT", milliseconds(1000));
  add_duration_option(app, "--hf-read-timeout", cfg.http.read_timeout, "Longest wait for the response",
                      "HF_READ_TIMEOUT", milliseconds(1000));
  app.add_option("--hf-ca-file", cfg.http.tls.ca_file, "Extra trusted CA certificates (PEM)")->envname("HF_CA_FILE");
  app.add_option("--hf-max-attempts", cfg.retry.max_attempts, "Requests per reply on 408/429/5xx or connect errors")
      ->envname("HF_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cfg.http.proxy = http::proxy_settings::from_env();
}

result<std::unique_ptr<hf_backend>> hf_backend::create(hf_config cfg, std::string* why) {
  auto fail = [why](std::string msg, error_code ec) -> result<std::unique_ptr<hf_backend>> {
    if (why) *why = std::move(msg);
    return ec;
  };
  auto u = http::parse_url(cfg.model_url);
  if (!u) return fail("MODEL_URL is not an http(s) URL: " + cfg.model_url, u.error());
  if (auto p = cfg.http.proxy.for_target(*u); !p) return fail("the proxy URL for " + u->str() + " is not usable", p.error());
  auto client = http::client::create(cfg.http);
  if (!client) return fail("cannot set up TLS (CA file " + cfg.http.tls.ca_file + ")", client.error());
  return std::unique_ptr<hf_backend>(new hf_backend(std::move(cfg), std::move(*client)));
}

hf_backend::hf_backend(hf_config cfg, http::client client)
    : cfg_(std::move(cfg)), client_(std::move(client)) {}

std::string hf_backend::request_body(const generation_request& req) const {
  const auto& s = req.sampling;
  int budget = cfg_.context_tokens - s.max_new_tokens;
  if (!req.system_prompt.empty()) budget -= estimate_tokens(req.system_prompt);
  json::object parameters{{"return_full_text", false}, {"use_cache", cfg_.use_cache}, {"max_new_tokens", s.max_new_tokens}};
  if (cfg_.send_sampling) {
    parameters["temperature"] = s.temperature;
    parameters["top_p"] = s.top_p;
    parameters["top_k"] = s.top_k;
  }
  json::object body{{"inputs", transcript(req.system_prompt, trim_history(req.history, budget))},
                    {"parameters", std::move(parameters)}};
  return json::serialize(body);
}

net::awaitable<result<generation_result>> hf_backend::generate(generation_request req, delta_handler on_delta,
                                                               std::stop_token stop) {
  generation_result out;
  out.reason = finish_reason::cancelled;
  const std::string body = request_body(req);
  std::vector<std::string> stops{std::string(next_human_turn)};
  stops.insert(stops.end(), req.sampling.stop.begin(), req.sampling.stop.end());
  milliseconds loading_waited{0};
  const bool continues = !req.history.empty() && req.history.back().speaker == chat_turn::role::assistant;
  auto one = [&](int) -> net::awaitable<attempt_verdict> {
    co_return co_await attempt(body, stops, continues, loading_waited, out, on_delta, stop);
  };
  auto retrying = [&](int n, const attempt_verdict& v, milliseconds delay) {
    retries_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("hf: attempt {} at {} failed ({}); retrying in {} ms", n, cfg_.model_url, v.ec.message(),
                 delay.count());
  };
  const auto v = co_await with_retries(cfg_.retry, backoff_, stop, one, retrying);
  switch (v.what) {
    case attempt_verdict::kind::done:
      completions_.fetch_add(1, std::memory_order_relaxed);
      co_return out;
    case attempt_verdict::kind::cancelled:
      out.reason = finish_reason::cancelled;
      co_return out;
    case attempt_verdict::kind::retry:
    case attempt_verdict::kind::fail:
      break;
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
  spdlog::error("hf: request to {} failed: {}", cfg_.model_url, v.ec.message());
  co_return v.ec;
}

net::awaitable<attempt_verdict> hf_backend::attempt(const std::string& body, const std::vector<std::string>& stops,
                                                    bool continues, milliseconds& loading_waited, generation_result& out,
                                                    delta_handler& on_delta, std::stop_token stop) {
  using kind = attempt_verdict::kind;
  // A model that is still loading (503 with estimated_time) is waited for within one attempt,
  // up to max_loading_wait for the whole reply: loading is not a failure.
  while (true) {
    if (stop.stop_requested()) co_return attempt_verdict{kind::cancelled, {}, {}};
    http::request hr;
    hr.method = boost::beast::http::verb::post;
    hr.url = cfg_.model_url;
    hr.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
    if (!cfg_.token.empty()) hr.headers.emplace_back("Authorization", "Bearer " + cfg_.token);
    hr.body = body;
    requests_.fetch_add(1, std::memory_order_relaxed);
    auto r = co_await client_.fetch(std::move(hr), stop);
    if (!r) {
      if (stop.stop_requested()) co_return attempt_verdict{kind::cancelled, {}, {}};
      const auto ec = r.error();
      co_return attempt_verdict{retryable_transport_error(ec) ? kind::retry : kind::fail, ec, {}};
    }
    if (r->status == 200) {
      auto text = generated_text(r->body);
      if (!text) {
        auto msg = error_message(r->body);
        spdlog::error("hf: unexpected response from {}: {}", cfg_.model_url, redact(msg, cfg_.token));
        co_return attempt_verdict{kind::fail, msg != r->body ? error_code(errc::upstream_error) : error_code(errc::malformed_response), {}};
      }
      out.text = cut_at_stops(*text, stops, continues);
      out.reason = finish_reason::stop;
      out.prompt_tokens = estimate_tokens(body);
      out.generated_tokens = estimate_tokens(out.text);
      if (!out.text.empty()) on_delta(out.text);
      co_return attempt_verdict{kind::done, {}, {}};
    }
    if (auto estimate = loading_estimate(r->body); r->status == 503 && estimate) {
      if (loading_waited >= cfg_.max_loading_wait) {
        spdlog::error("hf: model at {} still loading after {} ms", cfg_.model_url, loading_waited.count());
        co_return attempt_verdict{kind::fail, errc::model_loading, {}};
      }
      auto step = std::min(std::max(*estimate, cfg_.retry.initial_backoff), cfg_.max_loading_wait - loading_waited);
      loading_waits_.fetch_add(1, std::memory_order_relaxed);
      spdlog::info("hf: model at {} is loading (estimated {} ms); waiting {} ms", cfg_.model_url, estimate->count(),
                   step.count());
      loading_waited += step;
      if (!co_await sleep_unless_stopped(step, stop)) co_return attempt_verdict{kind::cancelled, {}, {}};
      continue;
    }
    spdlog::warn("hf: {} answered {}: {}", cfg_.model_url, r->status, redact(error_message(r->body), cfg_.token));
    if (!retryable_status(r->status)) co_return attempt_verdict{kind::fail, errc::upstream_rejected, {}};
    std::optional<milliseconds> wait;
    if (auto it = r->headers.find(boost::beast::http::field::retry_after); it != r->headers.end())
      wait = parse_retry_after(it->value());
    co_return attempt_verdict{kind::retry,
                              r->status == 429 ? error_code(errc::rate_limited) : error_code(errc::upstream_unavailable),
                              wait};
  }
}

void hf_backend::write_metrics(std::string& out) const {
  namespace pm = parley::prometheus;
  pm::counter(out, "parley_hf_requests_total", "HTTP requests sent to the Inference API", requests_.load());
  pm::counter(out, "parley_hf_retries_total", "Requests retried after 408/429/5xx or a connect failure", retries_.load());
  pm::counter(out, "parley_hf_loading_waits_total", "Waits for a loading model (503 with estimated_time)",
              loading_waits_.load());
  pm::counter(out, "parley_hf_failures_total", "Replies failed after all attempts", failures_.load());
  pm::counter(out, "parley_hf_completions_total", "Replies completed", completions_.load());
}

}  // namespace parley::worker::remote
