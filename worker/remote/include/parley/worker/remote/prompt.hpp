#pragma once
// Turning a generation_request into what remote APIs take, within a context budget. Remote
// servers do not expose their tokenizer, so the budget is counted with an estimate: a token per
// 4 bytes of UTF-8 (English text averages about 4 characters per token with BPE vocabularies)
// plus a few tokens of chat-template overhead per message.
#include <parley/worker/backend.hpp>

#include <span>
#include <string>
#include <string_view>

namespace parley::worker::remote {

inline constexpr int estimated_bytes_per_token = 4;
inline constexpr int estimated_tokens_per_message = 4;

int estimate_tokens(std::string_view text) noexcept;

// The newest turns of `history` that fit in `budget_tokens` (each counted as estimate_tokens +
// estimated_tokens_per_message). The last turn (the user turn to answer) is always kept, even
// when it alone exceeds the budget, and the result never starts with an assistant turn (chat
// templates expect the user to speak first).
std::span<const chat_turn> trim_history(std::span<const chat_turn> history, int budget_tokens);

// The seed's transcript form: "Human: ...\nBot: ...\n...Human: ...\nBot:", with the system prompt
// (when set) as the first line.
std::string transcript(std::string_view system_prompt, std::span<const chat_turn> turns);

// Cuts `text` at the first of `stops` (and trims surrounding whitespace, as the seed does). With
// `continues` (the text continues an earlier reply's), leading whitespace is kept: the first
// word may need the space that parts it from the old text.
std::string cut_at_stops(std::string_view text, std::span<const std::string> stops, bool continues = false);

}  // namespace parley::worker::remote
