#pragma once
// The seed's model call: the Hugging Face Inference API (text-generation task), e.g.
// https://api-inference.huggingface.co/models/EleutherAI/gpt-j-6B, or any server accepting the
// same shape (Text Generation Inference's non-streaming "/" route).
//
// Request: POST model_url, "Authorization: Bearer <token>", body
//   {"inputs": "<transcript> Bot:", "parameters": {"return_full_text": false,
//    "use_cache": <use_cache>, "max_new_tokens": <max_new_tokens>}}
// where the transcript is "Human: ...\nBot: ..." lines (prompt.hpp). Response
// [{"generated_text": "..."}]: the text is cut at the next "Human:" (the model goes on writing
// the conversation) or any configured stop string and delivered as one delta; the API does not
// stream. A 503 with "estimated_time" means the model is loading: wait that long and ask again,
// up to max_loading_wait in all. Other 429/5xx are retried with backoff; an error body
// ({"error": "..."}) fails the turn with a clear error. The token is never logged.
#include <parley/http/client.hpp>
#include <parley/worker/backend.hpp>
#include <parley/worker/remote/retry_loop.hpp>

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

struct hf_config {
  std::string model_url = "https://api-inference.huggingface.co/models/EleutherAI/gpt-j-6B";  // MODEL_URL
  std::string token;      // HUGGINFACE_INFERENCE_TOKEN (the seed's spelling) or HF_TOKEN
  bool use_cache = false;  // "use_cache" parameter: false asks for a fresh generation every time
  // Also send temperature, top_p and top_k (the seed sends only the three parameters above).
  bool send_sampling = false;
  int context_tokens = 2048;  // estimated tokens of transcript + reply; oldest turns dropped first
  std::chrono::milliseconds max_loading_wait{180'000};  // total wait for a loading model (503)
  retry_policy retry;
  http::client_options http;
};

// Adds the --hf-* flags (each with its environment variable) to `app`, writing into `cfg`.
void register_options(CLI::App& app, hf_config& cfg);

class hf_backend final : public backend {
 public:
  static boost::system::result<std::unique_ptr<hf_backend>> create(hf_config cfg, std::string* why = nullptr);

  std::string_view name() const noexcept override { return "hf"; }
  net::awaitable<boost::system::result<generation_result>> generate(generation_request req, delta_handler on_delta,
                                                                    std::stop_token stop) override;
  void write_metrics(std::string& out) const override;

  // The JSON request body for `req` (exposed for tests).
  std::string request_body(const generation_request& req) const;

 private:
  hf_backend(hf_config cfg, http::client client);
  // One request (and the waits for a model still loading); with_retries decides what follows.
  // `continues`: the request continues a reply (generation_request), whose text keeps its
  // leading space.
  net::awaitable<attempt_verdict> attempt(const std::string& body, const std::vector<std::string>& stops,
                                          bool continues, milliseconds& loading_waited, generation_result& out,
                                          delta_handler& on_delta, std::stop_token stop);

  hf_config cfg_;
  http::client client_;
  backoff_source backoff_;

  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> loading_waits_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::atomic<std::uint64_t> completions_{0};
};

}  // namespace parley::worker::remote
