#pragma once
// Decides how much of a sequence's KV cache a new prompt can keep: pure logic on token ids and
// their text pieces, no llama.cpp calls, so it is tested by feeding it token lists. The engine
// applies the plan to the cache (llama_memory_seq_rm / llama_memory_seq_add).
//
// Three kinds of reuse, in this order:
// 1. The common prefix: tokens equal at equal positions stay where they are.
// 2. Splicing: where the prompt's tokens differ from the cache's but spell the same text (the
//    previous reply as the model generated it versus the same text tokenized again), the
//    prompt takes the cached tokens, so reuse does not end inside the previous reply.
//    A space the prompt puts before a reply the model began without one is dropped, so the
//    model sees the reply as it wrote it (`dropped`); everything else the prompt spells stays.
// 3. Shifting (llama-server's context shift / cache reuse): when the oldest turns were dropped
//    from the prompt, the newer turns are still in the cache further right; a run of at least
//    `min_shift` equal tokens is moved left to where the prompt needs it, instead of being
//    prefilled again. The cells it skips over are removed.
// Invariant of the result: `prompt` spells the input but for the `dropped` spaces; prompt[0, reused) is exactly what the cache holds after the plan is
// applied, and reused < prompt.size() (the last prompt token is always decoded again: its
// logits start the reply).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace parley::worker::local {

using token_id = std::int32_t;
// The exact text a token stands for (special tokens as their text), never stripped of a
// leading space: equal texts of two token runs mean the same input to the tokenizer.
using piece_fn = std::function<std::string(token_id)>;

struct kv_shift {
  std::size_t from_begin = 0;  // cache positions [from_begin, from_end) ...
  std::size_t from_end = 0;
  std::ptrdiff_t delta = 0;  // ... move by delta (negative: left)
};

struct kv_reuse_plan {
  std::vector<token_id> prompt;  // the prompt to decode: the input with spliced runs replaced
  std::size_t prefix = 0;        // cache positions [0, prefix) stay in place
  std::vector<kv_shift> shifts;  // applied in order, after removing what each skips over
  std::size_t reused = 0;        // prompt[0, reused) is in the cache once the plan is applied
  std::size_t spliced = 0;       // prompt tokens replaced by cached ones that spell the same text
  std::size_t shifted = 0;       // tokens moved by `shifts`
  std::size_t dropped = 0;       // spaces the cache lacks, left out of `prompt` (see 2.)
};

// `min_shift`: the shortest run worth moving (0: never shift, for a cache that cannot).
kv_reuse_plan plan_kv_reuse(const std::vector<token_id>& cache, std::vector<token_id> prompt,
                            const piece_fn& piece, std::size_t min_shift);

}  // namespace parley::worker::local
