#pragma once
// Errors of the in-process llama.cpp backend.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::worker::local {

enum class llama_errc {
  invalid_config = 1,  // a llama_config value out of range (the message names which)
  model_not_found,     // model_path does not name a readable file
  model_load_failed,   // llama.cpp could not load the file (not a GGUF, unsupported architecture)
  context_failed,      // llama.cpp could not create the context (out of memory for n_ctx)
  template_failed,     // the chat template could not format the conversation
  prompt_too_long,     // the last user turn alone does not fit the prompt budget
  empty_history,       // the request has no turns, or does not end with a user turn
  decode_failed,       // llama_decode failed; the sequence's cache was dropped
  shutting_down,       // the backend was destroyed before the request finished
};

const boost::system::error_category& llama_category() noexcept;

inline boost::system::error_code make_error_code(llama_errc e) noexcept {
  return {static_cast<int>(e), llama_category()};
}

}  // namespace parley::worker::local

template <>
struct boost::system::is_error_code_enum<parley::worker::local::llama_errc> : std::true_type {};
