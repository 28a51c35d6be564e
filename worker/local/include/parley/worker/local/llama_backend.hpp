#pragma once
// The in-process llama.cpp backend: continuous batching of many sessions in one llama_context,
// KV-cache reuse across a session's turns, chunked prefill, streamed UTF-8-safe deltas. Model
// inference runs on the backend's own scheduler thread, never on the caller's io_context.
//
// Thread-safety: generate() may be called concurrently from any number of coroutines on any
// executors; write_metrics() from any thread. The backend must outlive every generate() call.
#include <parley/worker/backend.hpp>
#include <parley/worker/local/llama_config.hpp>

#include <boost/system/result.hpp>

#include <memory>
#include <string>
#include <string_view>

namespace parley::worker::local {

class engine;

class llama_backend final : public backend {
 public:
  // Loads the model and starts the scheduler thread. Blocking (reads the whole model): call it
  // before the io_context runs. Errors: llama_errc::invalid_config (logged with the field),
  // model_not_found, model_load_failed, context_failed.
  static boost::system::result<std::unique_ptr<llama_backend>> load(const llama_config& config);

  // Stops the scheduler; requests still running complete with llama_errc::shutting_down.
  ~llama_backend() override;

  std::string_view name() const noexcept override { return "local"; }

  net::awaitable<boost::system::result<generation_result>> generate(
      generation_request req, delta_handler on_delta, std::stop_token stop) override;

  void write_metrics(std::string& out) const override;

  // Tokens of context one session gets (llama.cpp rounds --ctx-size up to a multiple of 256).
  int context_per_session() const noexcept;
  // Whether prompts use the model's chat template (else the Human:/Bot: transcript form).
  bool uses_chat_template() const noexcept;

 private:
  explicit llama_backend(std::unique_ptr<engine> e);
  std::unique_ptr<engine> engine_;
};

}  // namespace parley::worker::local
