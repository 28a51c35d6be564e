#include "kv_reuse.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace parley::worker::local {

namespace {

std::size_t equal_run(const std::vector<token_id>& cache, std::size_t c,
                      const std::vector<token_id>& prompt, std::size_t p) {
  std::size_t n = 0;
  while (c + n < cache.size() && p + n < prompt.size() && cache[c + n] == prompt[p + n]) ++n;
  return n;
}

// The longest runs cache[c, i) and prompt[p, j), both non-empty, that spell the same non-empty
// text; {c, p} when there are none. The walk stops at the first character that differs, so it
// costs about the length of the text the two have in common.
std::pair<std::size_t, std::size_t> same_text(const std::vector<token_id>& cache, std::size_t c,
                                              const std::vector<token_id>& prompt, std::size_t p,
                                              const piece_fn& piece, bool skip_a_space = false) {
  std::string text_c;
  std::string text_p;
  std::size_t i = c;
  std::size_t j = p;
  std::size_t checked = 0;  // characters known equal on both sides
  std::pair<std::size_t, std::size_t> best{c, p};
  for (;;) {
    if (text_c.size() <= text_p.size()) {
      if (i == cache.size()) break;
      text_c += piece(cache[i++]);
    } else {
      if (j == prompt.size()) break;
      text_p += piece(prompt[j++]);
      if (skip_a_space && j == p + 1) {
        if (text_p.empty() || text_p.front() != ' ') break;
        text_p.erase(0, 1);
      }
    }
    const std::size_t n = std::min(text_c.size(), text_p.size());
    if (text_c.compare(checked, n - checked, text_p, checked, n - checked) != 0) break;
    checked = n;
    if (text_c.size() == text_p.size() && !text_c.empty() && j > p) best = {i, j};
  }
  return best;
}

// Cache tokens from cache[c] / prompt[p] on that are equal or spell the same text, counted up to
// `limit`; nothing is changed.
std::size_t matched_run(const std::vector<token_id>& cache, std::size_t c, const std::vector<token_id>& prompt,
                        std::size_t p, const piece_fn& piece, std::size_t limit) {
  std::size_t n = 0;
  while (n < limit) {
    const std::size_t e = equal_run(cache, c, prompt, p);
    c += e;
    p += e;
    n += e;
    if (n >= limit) break;
    const auto [i, j] = same_text(cache, c, prompt, p, piece);
    if (i == c) break;
    n += i - c;
    c = i;
    p = j;
  }
  return n;
}

}  // namespace

kv_reuse_plan plan_kv_reuse(const std::vector<token_id>& cache, std::vector<token_id> prompt,
                            const piece_fn& piece, std::size_t min_shift) {
  kv_reuse_plan plan;
  plan.prompt = std::move(prompt);
  auto& out = plan.prompt;
  if (out.empty()) return plan;

  // From cache[c] / prompt[p] on, takes every token that is equal or spells the same text.
  // Returns how many cache tokens were taken; prompt runs that were spliced are replaced.
  auto extend = [&](std::size_t& c, std::size_t& p) {
    const std::size_t c0 = c;
    for (;;) {
      const std::size_t n = equal_run(cache, c, out, p);
      c += n;
      p += n;
      auto [i, j] = same_text(cache, c, out, p, piece);
      bool dropped = false;
      if (i == c) {
        // The prompt has a space the cache lacks: the transcript form writes "Bot: " + reply,
        // and a stored reply drops the whitespace it began with, so a reply the model began
        // without a space comes back with one (as its own token, or merged into the reply's
        // first). When the texts match without it, the prompt takes what the model saw and
        // wrote: the cached run, without the space.
        std::tie(i, j) = same_text(cache, c, out, p, piece, true);
        if (i == c) break;
        dropped = true;
      }
      out.erase(out.begin() + static_cast<std::ptrdiff_t>(p), out.begin() + static_cast<std::ptrdiff_t>(j));
      out.insert(out.begin() + static_cast<std::ptrdiff_t>(p),
                 cache.begin() + static_cast<std::ptrdiff_t>(c), cache.begin() + static_cast<std::ptrdiff_t>(i));
      plan.dropped += dropped ? 1 : 0;
      plan.spliced += i - c;
      p += i - c;
      c = i;
    }
    return c - c0;
  };

  std::size_t c = 0;
  std::size_t p = 0;
  extend(c, p);
  plan.prefix = p;

  if (min_shift > 0) {
    while (c < cache.size() && p < out.size()) {
      // Spliced text counts: the cache may hold a token the prompt lacks (the reply's leading
      // whitespace, which the stored reply drops) before a reply whose tokens differ from
      // the prompt's though they spell the same.
      if (matched_run(cache, c, out, p, piece, min_shift) < min_shift) {
        ++c;
        continue;
      }
      kv_shift s{c, c, static_cast<std::ptrdiff_t>(p) - static_cast<std::ptrdiff_t>(c)};
      s.from_end += extend(c, p);
      plan.shifted += s.from_end - s.from_begin;
      plan.shifts.push_back(s);
    }
  }
  plan.reused = p;

  if (plan.reused == out.size()) {
    // The last prompt token is decoded again; its cell goes with everything after `reused`.
    --plan.reused;
    if (!plan.shifts.empty()) {
      auto& last = plan.shifts.back();
      --last.from_end;
      --plan.shifted;
      if (last.from_end == last.from_begin) plan.shifts.pop_back();
    } else {
      plan.prefix = plan.reused;
    }
  }
  return plan;
}

}  // namespace parley::worker::local
