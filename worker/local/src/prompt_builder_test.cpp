#include "prompt_builder.hpp"

#include "llama_handles.hpp"
#include "test_support.hpp"

#include <parley/worker/local/llama_errors.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace parley::worker::local {
namespace {

using test::bot;
using test::user;

model_ptr load_vocab(const char* path) {
  llama_backend_init();
  auto params = llama_model_default_params();
  params.vocab_only = true;
  return model_ptr(llama_model_load_from_file(path, params));
}

TEST(prompt_builder, uses_the_models_chat_template) {
  auto model = load_vocab(test::tiny_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  EXPECT_TRUE(p.uses_template());
  EXPECT_TRUE(p.stop_strings().empty());
  const std::vector<chat_turn> turns{user("hi"), bot("hello"), user("how are you?")};
  auto text = p.render("Be brief.", turns);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text,
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\nhello<|im_end|>\n"
            "<|im_start|>user\nhow are you?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(prompt_builder, uses_the_transcript_form_without_a_template) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  EXPECT_FALSE(p.uses_template());
  EXPECT_EQ(p.stop_strings(), std::vector<std::string>{"Human:"});
  const std::vector<chat_turn> turns{user("Hello Bot"), bot("Hello!"), user("Tell me a story")};
  auto text = p.render("You are kind.", turns);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "Human: Hello Bot\nBot: Hello!\nHuman: Tell me a story\nBot:")
      << "a base model gets no system prompt";
  auto bare = p.render("", std::vector<chat_turn>{user("x")});
  ASSERT_TRUE(bare);
  EXPECT_EQ(*bare, "Human: x\nBot:");
}

TEST(prompt_builder, transcript_override_ignores_the_template) {
  auto model = load_vocab(test::tiny_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "transcript");
  EXPECT_FALSE(p.uses_template());
  auto text = p.render("", std::vector<chat_turn>{user("x")});
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "Human: x\nBot:");
}

TEST(prompt_builder, starts_with_one_bos_token) {
  auto model = load_vocab(test::tiny_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  const auto tokens = p.tokenize("<s>hello");
  ASSERT_GE(tokens.size(), 2u);
  const llama_token bos = llama_vocab_bos(llama_model_get_vocab(model.get()));
  EXPECT_EQ(tokens[0], bos);
  EXPECT_NE(tokens[1], bos);
}

TEST(prompt_builder, keeps_everything_that_fits_the_budget) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  const std::vector<chat_turn> turns{user("one"), bot("two"), user("three")};
  auto built = p.build("sys", turns, 1000);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->dropped_turns, 0u);
  EXPECT_EQ(built->tokens, p.tokenize(*p.render("sys", turns)));
}

TEST(prompt_builder, drops_the_oldest_turns_first_to_fit_the_budget) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  std::vector<chat_turn> turns;
  for (int i = 0; i < 20; ++i) {
    turns.push_back(user("question number " + std::to_string(i) + " about the weather today"));
    turns.push_back(bot("answer number " + std::to_string(i) + " says it is sunny"));
  }
  turns.push_back(user("the last question"));
  const auto everything = p.tokenize(*p.render("sys", turns));
  const int budget = static_cast<int>(everything.size() / 3);

  auto built = p.build("sys", turns, budget);
  ASSERT_TRUE(built);
  EXPECT_LE(static_cast<int>(built->tokens.size()), budget);
  EXPECT_GT(built->dropped_turns, 0u);
  EXPECT_EQ(built->dropped_turns % 2, 0u) << "the kept turns start with a user turn";
  const auto kept = std::span<const chat_turn>(turns).subspan(built->dropped_turns);
  EXPECT_EQ(built->tokens, p.tokenize(*p.render("sys", kept)));
  // The newest turns that fit: one more turn pair would not have fit.
  const auto one_more = std::span<const chat_turn>(turns).subspan(built->dropped_turns - 2);
  EXPECT_GT(static_cast<int>(p.tokenize(*p.render("sys", one_more)).size()), budget);
}

TEST(prompt_builder, trims_in_blocks_of_user_turns_so_the_prefix_stays_stable) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  std::vector<chat_turn> turns;
  int budget = 0;
  int changes_by_block = 0;
  int changes_by_turn = 0;
  std::size_t last_block = 0;
  std::size_t last_turn = 0;
  for (int i = 0; i < 40; ++i) {
    turns.push_back(user("question " + std::to_string(i) + " about the weather"));
    if (i == 8) budget = static_cast<int>(p.tokenize(*p.render("", turns)).size());
    if (budget > 0) {
      auto by_block = p.build("", turns, budget, 4);
      auto by_turn = p.build("", turns, budget, 1);
      ASSERT_TRUE(by_block && by_turn);
      EXPECT_LE(static_cast<int>(by_block->tokens.size()), budget);
      EXPECT_EQ(by_block->dropped_turns % 8, 0u) << "cut before every 4th user turn only";
      EXPECT_GE(by_block->dropped_turns, by_turn->dropped_turns);
      changes_by_block += by_block->dropped_turns != last_block;
      changes_by_turn += by_turn->dropped_turns != last_turn;
      last_block = by_block->dropped_turns;
      last_turn = by_turn->dropped_turns;
    }
    turns.push_back(bot("answer " + std::to_string(i) + " it is sunny"));
  }
  EXPECT_GT(changes_by_turn, 2 * changes_by_block);
}

TEST(prompt_builder, never_drops_the_last_user_turn) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  const std::vector<chat_turn> turns{user(std::string(400, 'a')), bot("b"), user("short")};
  auto built = p.build("", turns, 20);
  ASSERT_TRUE(built);
  EXPECT_EQ(built->dropped_turns, 2u);

  const std::vector<chat_turn> huge{user("hi"), bot("b"), user(std::string(4000, 'z'))};
  auto too_long = p.build("", huge, 100);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error(), make_error_code(llama_errc::prompt_too_long));
}

TEST(prompt_builder, rejects_a_history_that_does_not_end_with_a_user_turn_or_a_reply_to_continue) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "");
  EXPECT_EQ(p.build("", std::vector<chat_turn>{}, 100).error(),
            make_error_code(llama_errc::empty_history));
  EXPECT_EQ(p.build("", std::vector<chat_turn>{bot("a")}, 100).error(),
            make_error_code(llama_errc::empty_history));
  EXPECT_EQ(p.build("", std::vector<chat_turn>{user("q"), bot("a"), bot("b")}, 100).error(),
            make_error_code(llama_errc::empty_history));
}

TEST(prompt_builder, a_reply_to_continue_ends_the_prompt_inside_it) {
  auto model = load_vocab(test::tiny_base_model);
  ASSERT_TRUE(model);
  prompt_builder p(model.get(), "transcript");
  auto open = p.build("", std::vector<chat_turn>{user("Hello"), bot("Once upon a")}, 1000);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->tokens, p.tokenize("Human: Hello\nBot: Once upon a"));
  // The same conversation answered afresh ends where the reply starts.
  auto fresh = p.build("", std::vector<chat_turn>{user("Hello")}, 1000);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->tokens, p.tokenize("Human: Hello\nBot:"));
}

}  // namespace
}  // namespace parley::worker::local
