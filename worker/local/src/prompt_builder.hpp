#pragma once
// Turns a conversation into prompt tokens: the model's own chat template when it has one that
// llama.cpp can apply (with the system prompt), else the seed's transcript form
// ("Human: ...\nBot: ...\n" ending in "Bot:", with "Human:" as a stop string; no system
// prompt). Short-term memory is a token budget: the newest turns that fit are kept, the oldest
// dropped first, never the last user turn. Thread-safety: const
// methods may run concurrently (llama.cpp's tokenizer is thread-safe); used by the scheduler.
#include <parley/worker/backend.hpp>

#include <llama.h>

#include <boost/system/result.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::worker::local {

struct built_prompt {
  std::vector<llama_token> tokens;
  std::size_t dropped_turns = 0;  // oldest turns left out to fit the budget
};

class prompt_builder {
 public:
  // `template_override`: empty for the model's own template (if any), "transcript" to force the
  // transcript form.
  prompt_builder(const llama_model* model, std::string_view template_override);

  bool uses_template() const noexcept { return !template_.empty(); }

  // Stop strings the format needs besides the model's end-of-generation tokens.
  const std::vector<std::string>& stop_strings() const noexcept { return stops_; }

  boost::system::result<std::string> render(std::string_view system,
                                            std::span<const chat_turn> turns) const;

  std::vector<llama_token> tokenize(std::string_view text) const;

  // The newest turns (starting at a user turn, ending with the last one) whose rendered prompt
  // is at most `budget` tokens. The first kept turn is the n-th user turn of the conversation
  // with n a multiple of `trim_step` (or the last user turn): as the conversation grows, the
  // kept prefix then stays the same for several turns, and so does the KV cache that holds it.
  // When the last turn is the assistant's, that reply is continued: the prompt ends inside it.
  // Errors: empty_history, prompt_too_long, template_failed.
  boost::system::result<built_prompt> build(std::string_view system,
                                            std::span<const chat_turn> turns, int budget,
                                            int trim_step = 1) const;

 private:
  std::string render_transcript(std::span<const chat_turn> turns) const;

  const llama_model* model_;
  const llama_vocab* vocab_;
  std::string template_;  // empty: transcript form
  std::vector<std::string> stops_;
};

}  // namespace parley::worker::local
