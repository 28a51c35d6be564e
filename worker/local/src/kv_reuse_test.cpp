#include "kv_reuse.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace parley::worker::local {
namespace {

// A toy vocabulary: token i spells vocab[i]. Several tokens spell text that others spell
// together (" Hel" + "lo" = " Hello"), as in a real BPE or SentencePiece vocabulary.
const std::vector<std::string> vocab = {
    "<s>", "Human:", " hi", "\nBot:", " Hel", "lo", " Hello", "\n", "\nHuman:", " the", " cat",
    " sat", " on", " mat", ".", " a", " dog", " ran", "Human", ":", " tell", " me", " ", "Hello",
};
enum : token_id { BOS, HUMAN, HI, BOT, HEL, LO, HELLO, NL, NL_HUMAN, THE, CAT, SAT, ON, MAT, DOT, A, DOG, RAN,
                  HUMAN_WORD, COLON, TELL, ME, SPACE, HELLO_NO_SPACE };

std::string piece(token_id t) { return vocab.at(static_cast<std::size_t>(t)); }

std::string text_of(const std::vector<token_id>& tokens) {
  std::string out;
  for (auto t : tokens) out += piece(t);
  return out;
}

// Applies the plan the way the engine does (remove what a shift skips over, move the run,
// finally drop everything from `reused` on) to a cache of position -> token.
std::map<std::ptrdiff_t, token_id> apply(const std::vector<token_id>& cache, const kv_reuse_plan& plan) {
  std::map<std::ptrdiff_t, token_id> cells;
  for (std::size_t i = 0; i < cache.size(); ++i) cells[static_cast<std::ptrdiff_t>(i)] = cache[i];
  for (const auto& s : plan.shifts) {
    const auto from = static_cast<std::ptrdiff_t>(s.from_begin);
    const auto to = static_cast<std::ptrdiff_t>(s.from_end);
    EXPECT_LT(s.delta, 0);
    for (auto p = from + s.delta; p < from; ++p) cells.erase(p);
    std::map<std::ptrdiff_t, token_id> moved;
    for (auto it = cells.begin(); it != cells.end();) {
      if (it->first >= from && it->first < to) {
        moved[it->first + s.delta] = it->second;
        it = cells.erase(it);
      } else {
        ++it;
      }
    }
    for (auto [p, t] : moved) {
      EXPECT_FALSE(cells.contains(p)) << "a shift lands on a cell still in use at " << p;
      cells[p] = t;
    }
  }
  std::erase_if(cells, [&](const auto& kv) { return kv.first >= static_cast<std::ptrdiff_t>(plan.reused); });
  return cells;
}

void expect_consistent(const std::vector<token_id>& cache, const std::vector<token_id>& prompt,
                       const kv_reuse_plan& plan) {
  if (plan.dropped == 0) {
    EXPECT_EQ(text_of(plan.prompt), text_of(prompt)) << "the plan's prompt spells the input";
  } else {
    auto without_spaces = [](std::string s) {
      std::erase(s, ' ');
      return s;
    };
    EXPECT_EQ(text_of(plan.prompt).size() + plan.dropped, text_of(prompt).size()) << "only single spaces went";
    EXPECT_EQ(without_spaces(text_of(plan.prompt)), without_spaces(text_of(prompt)));
  }
  ASSERT_LT(plan.reused, plan.prompt.size()) << "the last prompt token is decoded again";
  const auto cells = apply(cache, plan);
  ASSERT_EQ(cells.size(), plan.reused);
  for (std::size_t i = 0; i < plan.reused; ++i) {
    ASSERT_TRUE(cells.contains(static_cast<std::ptrdiff_t>(i))) << "no cell at " << i;
    EXPECT_EQ(cells.at(static_cast<std::ptrdiff_t>(i)), plan.prompt[i]) << "at " << i;
  }
}

TEST(KvReuse, SkipsATokenThePromptLacksBeforeASplicedReply) {
  // The model began its reply with a newline; the stored reply drops leading whitespace, so the
  // prompt goes on with " Hello" where the cache has "\n", " Hel", "lo".
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, NL, HEL, LO, THE, CAT, SAT, ON, A, MAT, DOT};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, HELLO, THE, CAT, SAT, ON, A, MAT, DOT, NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.prefix, 4u);
  ASSERT_EQ(plan.shifts.size(), 1u);
  EXPECT_EQ(plan.shifts[0].from_begin, 5u);
  EXPECT_EQ(plan.shifts[0].delta, -1);
  EXPECT_GT(plan.spliced, 0u);
  EXPECT_EQ(plan.reused, 13u);
  expect_consistent(cache, prompt, plan);
  // Without shifting the reply is prefilled again.
  EXPECT_EQ(plan_kv_reuse(cache, prompt, piece, 0).reused, 4u);
}

TEST(KvReuse, DropsTheSpaceThePromptPutsBeforeAReplyBegunWithoutOne) {
  // "\nBot:" then the model wrote "Hello the cat"; the prompt renders "\nBot: " + "Hello...".
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO_NO_SPACE, THE, CAT};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, SPACE, HELLO_NO_SPACE, THE, CAT, NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.dropped, 1u);
  EXPECT_EQ(plan.reused, cache.size());
  EXPECT_EQ(plan.prompt.size(), prompt.size() - 1);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, DropsASpaceMergedIntoTheRepliesFirstToken) {
  // The model wrote "Hello the cat" right after "\nBot:"; the prompt's " Hello" carries the space.
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO_NO_SPACE, THE, CAT};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, HELLO, THE, CAT, NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.dropped, 1u);
  EXPECT_EQ(plan.reused, cache.size());
  EXPECT_EQ(plan.prompt[4], HELLO_NO_SPACE);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, KeepsASpaceTheCacheDoesNotGoOnFrom) {
  // A space the cache lacks where the cache does not match what follows is user input: kept.
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO_NO_SPACE, THE, CAT};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, SPACE, DOG, RAN, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.dropped, 0u);
  EXPECT_EQ(plan.prompt, prompt);
  EXPECT_EQ(plan.reused, 4u);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, KeepsTheCommonPrefix) {
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, HELLO, NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.prefix, 5u);
  EXPECT_EQ(plan.reused, 5u);
  EXPECT_TRUE(plan.shifts.empty());
  EXPECT_EQ(plan.spliced, 0u);
  EXPECT_EQ(plan.prompt, prompt);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, DecodesTheLastPromptTokenAgainWhenTheCacheHoldsItAll) {
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT};
  const auto plan = plan_kv_reuse(cache, cache, piece, 4);
  EXPECT_EQ(plan.reused, 3u);
  EXPECT_EQ(plan.prefix, 3u);
  expect_consistent(cache, cache, plan);
}

TEST(KvReuse, EmptyCacheOrPromptReusesNothing) {
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT};
  auto plan = plan_kv_reuse({}, prompt, piece, 4);
  EXPECT_EQ(plan.reused, 0u);
  EXPECT_EQ(plan.prompt, prompt);
  plan = plan_kv_reuse(prompt, {}, piece, 4);
  EXPECT_EQ(plan.reused, 0u);
  EXPECT_TRUE(plan.prompt.empty());
}

TEST(KvReuse, SplicesThePreviousReplyAsTheModelGeneratedIt) {
  // The model generated " Hel" "lo" and then "\n" "Human" (cut by the stop string); the next
  // prompt tokenizes the same reply as " Hello" and the turn break as "\nHuman:". The reply is
  // kept as generated; "\n" "Human" is not, since the prompt's "\nHuman:" reaches past it.
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HEL, LO, NL, HUMAN_WORD};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, HELLO, NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.prompt, (std::vector<token_id>{BOS, HUMAN, HI, BOT, HEL, LO, NL_HUMAN, TELL, ME, BOT}));
  EXPECT_EQ(plan.reused, 6u);
  EXPECT_EQ(plan.spliced, 2u);
  EXPECT_TRUE(plan.shifts.empty());
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, SplicesAcrossSeveralRunsUpToTheLastCommonBoundary) {
  // " Hel" "lo" "\n" "Human:" against " Hello" "\n" "Human" ":": two splices and an equal run.
  const std::vector<token_id> cache{BOS, HEL, LO, NL, HUMAN, HI};
  const std::vector<token_id> prompt{BOS, HELLO, NL, HUMAN_WORD, COLON, HI, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.prompt, (std::vector<token_id>{BOS, HEL, LO, NL, HUMAN, HI, BOT}));
  EXPECT_EQ(plan.reused, 6u);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, DoesNotSpliceDifferentText) {
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, A, DOG};
  const std::vector<token_id> prompt{BOS, HUMAN, HI, BOT, THE, CAT, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 2);
  EXPECT_EQ(plan.reused, 4u);
  EXPECT_EQ(plan.spliced, 0u);
  EXPECT_EQ(plan.prompt, prompt);
}

TEST(KvReuse, ShiftsTheKeptTurnsLeftWhenTheOldestWereDropped) {
  // cache: <s> Human: hi  Bot: Hello | Human: the cat sat on the mat.  Bot: a dog ran
  // prompt (first turn dropped): <s> Human: the cat sat on the mat.  Bot: a dog ran  Human: ...
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO, NL_HUMAN, THE, CAT, SAT, ON, THE, MAT, DOT,
                                    BOT, A, DOG, RAN};
  const std::vector<token_id> prompt{BOS, HUMAN, THE, CAT, SAT, ON, THE, MAT, DOT, BOT, A, DOG, RAN,
                                     NL_HUMAN, TELL, ME, BOT};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_EQ(plan.prefix, 2u);
  ASSERT_EQ(plan.shifts.size(), 1u);
  EXPECT_EQ(plan.shifts[0].from_begin, 6u);
  EXPECT_EQ(plan.shifts[0].from_end, 17u);
  EXPECT_EQ(plan.shifts[0].delta, -4);
  EXPECT_EQ(plan.shifted, 11u);
  EXPECT_EQ(plan.reused, 13u);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, ShortRunsAreNotShifted) {
  const std::vector<token_id> cache{BOS, HUMAN, HI, BOT, HELLO, NL_HUMAN, THE, CAT, SAT};
  const std::vector<token_id> prompt{BOS, HUMAN, THE, CAT, SAT, BOT};
  auto plan = plan_kv_reuse(cache, prompt, piece, 4);
  EXPECT_TRUE(plan.shifts.empty());
  EXPECT_EQ(plan.reused, 2u);
  plan = plan_kv_reuse(cache, prompt, piece, 3);
  EXPECT_EQ(plan.shifts.size(), 1u);
  EXPECT_EQ(plan.reused, 5u);
  expect_consistent(cache, prompt, plan);
  plan = plan_kv_reuse(cache, prompt, piece, 0);
  EXPECT_TRUE(plan.shifts.empty()) << "min_shift 0: a cache that cannot shift";
  EXPECT_EQ(plan.reused, 2u);
}

TEST(KvReuse, TheLastPromptTokenIsNotTakenFromAShiftedRun) {
  const std::vector<token_id> cache{BOS, HI, HI, THE, CAT, SAT, ON};
  const std::vector<token_id> prompt{BOS, THE, CAT, SAT, ON};
  const auto plan = plan_kv_reuse(cache, prompt, piece, 2);
  ASSERT_EQ(plan.shifts.size(), 1u);
  EXPECT_EQ(plan.shifts[0].from_end, 6u);
  EXPECT_EQ(plan.reused, 4u);
  expect_consistent(cache, prompt, plan);
}

TEST(KvReuse, RandomCachesAndPromptsAlwaysGiveAConsistentPlan) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<token_id> any(1, static_cast<token_id>(vocab.size()) - 1);
  int with_shifts = 0;
  int with_splices = 0;
  for (int round = 0; round < 2000; ++round) {
    std::vector<token_id> cache{BOS};
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      if (rng() % 5 == 0) {
        cache.insert(cache.end(), {HEL, LO});
      } else {
        cache.push_back(rng() % 3 == 0 ? any(rng) : static_cast<token_id>(THE + rng() % 4));
      }
    }
    // The prompt: a random cut of the cache (as trimming makes) tokenized again (" Hel" "lo"
    // becomes " Hello"), a random edit, a random tail.
    std::vector<token_id> prompt{BOS};
    const std::size_t cut = rng() % 2 ? 1 : 1 + rng() % cache.size();
    for (std::size_t i = cut; i < cache.size(); ++i) {
      if (cache[i] == HEL && i + 1 < cache.size() && cache[i + 1] == LO && rng() % 2) {
        prompt.push_back(HELLO);
        ++i;
      } else {
        prompt.push_back(cache[i]);
      }
    }
    if (!prompt.empty() && rng() % 2) prompt[rng() % prompt.size()] = any(rng);
    const int tail = static_cast<int>(1 + rng() % 5);
    for (int i = 0; i < tail; ++i) prompt.push_back(any(rng));
    const auto plan = plan_kv_reuse(cache, prompt, piece, 1 + rng() % 4);
    expect_consistent(cache, prompt, plan);
    if (HasFailure()) {
      ADD_FAILURE() << "round " << round;
      return;
    }
    with_shifts += !plan.shifts.empty();
    with_splices += plan.spliced > 0;
  }
  EXPECT_GT(with_shifts, 200) << "the generator exercises shifting";
  EXPECT_GT(with_splices, 50) << "the generator exercises splicing";
}

}  // namespace
}  // namespace parley::worker::local
