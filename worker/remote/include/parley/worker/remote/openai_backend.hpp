#pragma once
// A backend for any server speaking OpenAI's chat completions API with streaming (OpenAI,
// llama.cpp's llama-server, vLLM, Ollama, Text Generation Inference, routers): POST
// {base_url}/v1/chat/completions with "stream": true, read the Server-Sent Events as they
// arrive and forward each choices[0].delta.content at once.
//
// Sampling (temperature, top_p, max_new_tokens, seed, stop strings) comes with each request from
// the worker's own settings; this config holds only what is specific to the upstream.
//
// Failures: 408/429/5xx and transport errors before the first delta are retried with backoff
// and jitter (Retry-After honoured); after the first delta a failure ends the attempt with an
// error, since the client already saw part of this reply and the worker's own retry discards
// it. A stream that ends without [DONE] or a finish_reason is errc::broken_stream, never a
// complete reply. The API key goes only into the Authorization header: it is never logged.
#include <parley/http/client.hpp>
#include <parley/worker/backend.hpp>
#include <parley/worker/remote/retry_loop.hpp>
#include <parley/worker/remote/stop_wait.hpp>

#include <boost/system/result.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>

namespace CLI {
class App;
}

namespace parley::worker::remote {

struct openai_config {
  std::string base_url = "http://127.0.0.1:8080";  // OPENAI_BASE_URL; "/v1/chat/completions" is appended
  std::string api_key;                              // OPENAI_API_KEY; sent as "Authorization: Bearer"
  std::string model = "default";                    // OPENAI_MODEL; llama-server accepts any name
  // Estimated tokens (see prompt.hpp) for prompt + reply: history is trimmed, oldest turns first,
  // to context_tokens - max_new_tokens, never dropping the user turn being answered.
  int context_tokens = 4096;
  std::size_t max_in_flight = 16;  // requests open at once from this worker; more wait their turn
  bool send_top_k = false;         // top_k is not part of OpenAI's API; llama-server and vLLM take it
  bool include_usage = true;       // ask for token counts (stream_options.include_usage)
  retry_policy retry;
  http::client_options http;       // timeouts, TLS (extra CA file), proxy (HTTPS_PROXY...)
};

// Adds the --openai-* flags (each with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, openai_config& cfg);

class openai_backend final : public backend {
 public:
  // Checks the configuration (URL, limits, TLS setup). The error names what is wrong.
  static boost::system::result<std::unique_ptr<openai_backend>> create(openai_config cfg, std::string* why = nullptr);

  std::string_view name() const noexcept override { return "openai"; }
  net::awaitable<boost::system::result<generation_result>> generate(generation_request req, delta_handler on_delta,
                                                                    std::stop_token stop) override;
  void write_metrics(std::string& out) const override;

  // The JSON request body for `req` (exposed for tests).
  std::string request_body(const generation_request& req) const;

 private:
  openai_backend(openai_config cfg, http::client client);

  // One request and its stream; with_retries (retry_loop.hpp) decides what follows.
  net::awaitable<attempt_verdict> attempt(const std::string& body, generation_result& result, delta_handler& on_delta,
                                          std::stop_token stop);

  openai_config cfg_;
  http::client client_;
  std::string endpoint_;
  in_flight_limiter limiter_;
  backoff_source backoff_;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> cancelled_{0};
  std::atomic<std::uint64_t> completions_{0};
  std::atomic<std::uint64_t> deltas_{0};
};

}  // namespace parley::worker::remote
