#include "prompt_builder.hpp"

#include <parley/worker/local/llama_errors.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

namespace parley::worker::local {

namespace {

constexpr std::string_view transcript_user = "Human:";
constexpr std::string_view transcript_bot = "Bot:";

const char* role_name(chat_turn::role r) {
  return r == chat_turn::role::user ? "user" : "assistant";
}

}  // namespace

prompt_builder::prompt_builder(const llama_model* model, std::string_view template_override)
    : model_(model), vocab_(llama_model_get_vocab(model)) {
  if (template_override != "transcript") {
    if (const char* t = llama_model_chat_template(model, nullptr); t != nullptr) template_ = t;
  }
  if (!template_.empty()) {
    const chat_turn probe{chat_turn::role::user, "hi"};
    if (!render("system", std::span(&probe, 1))) {
      spdlog::warn("llama: the model's chat template is not one llama.cpp can apply; using the "
                   "Human:/Bot: transcript form");
      template_.clear();
    }
  }
  if (template_.empty()) stops_.emplace_back(transcript_user);
}

// The seed's form exactly: a base model has no notion of a system prompt, and an instruction
// line in front of "Human:" would only be continued as text.
std::string prompt_builder::render_transcript(std::span<const chat_turn> turns) const {
  std::string out;
  for (const auto& t : turns) {
    out.append(t.speaker == chat_turn::role::user ? transcript_user : transcript_bot);
    out.push_back(' ');
    out.append(t.text);
    out.push_back('\n');
  }
  out.append(transcript_bot);
  return out;
}

boost::system::result<std::string> prompt_builder::render(std::string_view system,
                                                          std::span<const chat_turn> turns) const {
  if (template_.empty()) return render_transcript(turns);
  const std::string system_text(system);
  std::vector<llama_chat_message> messages;
  messages.reserve(turns.size() + 1);
  if (!system.empty()) messages.push_back({"system", system_text.c_str()});
  for (const auto& t : turns) messages.push_back({role_name(t.speaker), t.text.c_str()});
  std::size_t chars = system.size();
  for (const auto& t : turns) chars += t.text.size();
  // llama.h recommends twice the message text; the template's own markup needs a little more.
  std::string out(2 * chars + 256, '\0');
  int n = llama_chat_apply_template(template_.c_str(), messages.data(), messages.size(), true,
                                    out.data(), static_cast<int>(out.size()));
  if (n > static_cast<int>(out.size())) {
    out.resize(n);
    n = llama_chat_apply_template(template_.c_str(), messages.data(), messages.size(), true,
                                  out.data(), static_cast<int>(out.size()));
  }
  if (n < 0) return llama_errc::template_failed;
  out.resize(n);
  return out;
}

std::vector<llama_token> prompt_builder::tokenize(std::string_view text) const {
  // Template text carries the model's special tokens (<|im_start|> ...) as text.
  const bool parse_special = uses_template();
  std::vector<llama_token> tokens(text.size() + 2);
  int n = llama_tokenize(vocab_, text.data(), static_cast<int>(text.size()), tokens.data(),
                         static_cast<int>(tokens.size()), true, parse_special);
  if (n < 0) {
    tokens.resize(-n);
    n = llama_tokenize(vocab_, text.data(), static_cast<int>(text.size()), tokens.data(),
                       static_cast<int>(tokens.size()), true, parse_special);
  }
  tokens.resize(std::max(n, 0));
  // A template that writes the BOS text itself, plus the tokenizer's own BOS, gives two.
  const llama_token bos = llama_vocab_bos(vocab_);
  if (tokens.size() >= 2 && tokens[0] == bos && tokens[1] == bos) tokens.erase(tokens.begin());
  return tokens;
}

boost::system::result<built_prompt> prompt_builder::build(std::string_view system,
                                                          std::span<const chat_turn> turns,
                                                          int budget, int trim_step) const {
  // A reply being continued: the prompt opens the reply as usual and then holds its text, so
  // the model writes on from there.
  std::string_view continued;
  if (!turns.empty() && turns.back().speaker == chat_turn::role::assistant) {
    continued = turns.back().text;
    turns = turns.first(turns.size() - 1);
  }
  if (turns.empty() || turns.back().speaker != chat_turn::role::user) {
    return llama_errc::empty_history;
  }
  // Candidate first turns: every user turn, oldest first. Fewer turns never need more tokens,
  // so the oldest candidate that fits is found by binary search.
  std::vector<std::size_t> starts;
  const std::size_t step = static_cast<std::size_t>(std::max(trim_step, 1));
  std::size_t user_turns = 0;
  for (std::size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].speaker != chat_turn::role::user) continue;
    if (user_turns++ % step == 0 || i + 1 == turns.size()) starts.push_back(i);
  }
  auto tokens_from = [&](std::size_t start) -> boost::system::result<std::vector<llama_token>> {
    auto text = render(system, turns.subspan(start));
    if (!text) return text.error();
    if (!continued.empty()) {
      if (!uses_template()) text->push_back(' ');  // "Bot: " as a reply follows it in the transcript
      text->append(continued);
    }
    return tokenize(*text);
  };

  std::size_t lo = 0;
  std::size_t hi = starts.size() - 1;
  auto last = tokens_from(starts[hi]);
  if (!last) return last.error();
  if (static_cast<int>(last->size()) > budget) return llama_errc::prompt_too_long;
  std::vector<llama_token> best = std::move(*last);
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    auto t = tokens_from(starts[mid]);
    if (!t) return t.error();
    if (static_cast<int>(t->size()) <= budget) {
      best = std::move(*t);
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return built_prompt{std::move(best), starts[hi]};
}

}  // namespace parley::worker::local
