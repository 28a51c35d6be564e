#include <parley/worker/remote/prompt.hpp>

#include <algorithm>

namespace parley::worker::remote {

int estimate_tokens(std::string_view text) noexcept {
  return static_cast<int>((text.size() + estimated_bytes_per_token - 1) / estimated_bytes_per_token);
}

std::span<const chat_turn> trim_history(std::span<const chat_turn> history, int budget_tokens) {
  if (history.empty()) return history;
  // The user turn to answer is always kept, and a reply being continued after it.
  std::size_t first = history.size() - 1;
  int used = estimate_tokens(history[first].text) + estimated_tokens_per_message;
  if (history[first].speaker == chat_turn::role::assistant && first > 0) {
    --first;
    used += estimate_tokens(history[first].text) + estimated_tokens_per_message;
  }
  while (first > 0) {
    int cost = estimate_tokens(history[first - 1].text) + estimated_tokens_per_message;
    if (used + cost > budget_tokens) break;
    used += cost;
    --first;
  }
  while (first + 1 < history.size() && history[first].speaker == chat_turn::role::assistant) ++first;
  return history.subspan(first);
}

std::string transcript(std::string_view system_prompt, std::span<const chat_turn> turns) {
  std::string out;
  if (!system_prompt.empty()) {
    out += system_prompt;
    out += '\n';
  }
  for (const auto& t : turns) {
    out += t.speaker == chat_turn::role::user ? "Human: " : "Bot: ";
    out += t.text;
    out += '\n';
  }
  // A reply being continued ends the prompt itself, open.
  if (!turns.empty() && turns.back().speaker == chat_turn::role::assistant) {
    out.pop_back();
    return out;
  }
  out += "Bot:";
  return out;
}

std::string cut_at_stops(std::string_view text, std::span<const std::string> stops, bool continues) {
  std::size_t cut = text.size();
  for (const auto& s : stops)
    if (!s.empty()) cut = std::min(cut, text.find(s));
  text = text.substr(0, cut);
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!continues && !text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace parley::worker::remote
