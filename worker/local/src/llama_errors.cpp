#include <parley/worker/local/llama_errors.hpp>

#include <string>

namespace parley::worker::local {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.llama"; }
  std::string message(int ev) const override {
    switch (static_cast<llama_errc>(ev)) {
      case llama_errc::invalid_config: return "invalid llama backend configuration";
      case llama_errc::model_not_found: return "model file not found";
      case llama_errc::model_load_failed: return "llama.cpp could not load the model";
      case llama_errc::context_failed: return "llama.cpp could not create the context";
      case llama_errc::template_failed: return "the chat template could not format the conversation";
      case llama_errc::prompt_too_long: return "the last user message does not fit the context";
      case llama_errc::empty_history: return "the conversation must end with a user message";
      case llama_errc::decode_failed: return "llama_decode failed";
      case llama_errc::shutting_down: return "the llama backend is shutting down";
    }
    return "unknown llama backend error";
  }
};

}  // namespace

const boost::system::error_category& llama_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace parley::worker::local
