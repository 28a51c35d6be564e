#pragma once
// The interface every model backend implements: the in-process llama.cpp one (worker/local) and
// the remote HTTP ones (worker/remote). The delivery logic (worker/src) knows only this header.
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

namespace parley::worker {

namespace net = boost::asio;

struct chat_turn {
  enum class role { user, assistant };
  role speaker = role::user;
  std::string text;
};

struct sampling_params {
  float temperature = 0.8f;
  float top_p = 0.95f;
  int top_k = 40;
  int max_new_tokens = 256;
  std::optional<std::uint32_t> seed;  // nullopt: a fresh seed per request
  std::vector<std::string> stop;      // extra stop strings besides the model's own
};

struct generation_request {
  std::string session;     // session token; the key for KV-cache reuse across turns
  std::string message_id;  // the user message being answered
  std::string system_prompt;
  // The whole conversation, oldest first, ending with the user turn to answer, or, to continue
  // a reply (one that stopped at the token limit), with that reply as an assistant turn: the
  // model writes on from its text, and the result holds only what it added. Backends trim it
  // to their context budget (oldest turns first), never the last user turn or what follows it.
  std::vector<chat_turn> history;
  sampling_params sampling;
};

enum class finish_reason { stop, length, cancelled };

struct generation_result {
  std::string text;  // the whole reply (the concatenation of every delta)
  finish_reason reason = finish_reason::stop;
  int prompt_tokens = 0;     // tokens of the prompt as sent to the model
  int cached_tokens = 0;     // of those, reused from an earlier turn's KV cache
  int generated_tokens = 0;
};

// Called with each new piece of reply text, on the executor of the coroutine that called
// generate(). Pieces are valid UTF-8 and never contain (part of) a stop string.
using delta_handler = std::function<void(std::string_view)>;

class backend {
 public:
  virtual ~backend() = default;
  virtual std::string_view name() const noexcept = 0;

  // Generates a reply for `req`, streaming deltas through `on_delta` as they are produced.
  // When `stop` is requested the generation ends within one decode step (or at once for remote
  // backends, which close the upstream request) and completes with finish_reason::cancelled and
  // the partial text. A failure (model error, upstream error after retries, broken stream) is an
  // error code; the caller treats the attempt as failed and never saves its partial text.
  virtual net::awaitable<boost::system::result<generation_result>> generate(
      generation_request req, delta_handler on_delta, std::stop_token stop) = 0;

  // Appends the backend's own Prometheus metrics (exposition format, `parley_` prefix) to `out`.
  // Called from the metrics endpoint's thread; implementations read atomics only.
  virtual void write_metrics(std::string& out) const {}
};

}  // namespace parley::worker
