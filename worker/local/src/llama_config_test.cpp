#include <parley/worker/local/llama_config.hpp>

#include <CLI/CLI.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

namespace parley::worker::local {
namespace {

TEST(llama_config, flags_set_the_fields) {
  CLI::App app;
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker", "--model", "/m.gguf", "--ctx-size", "1024", "--parallel", "8",
                        "--chat-template", "transcript", "--kv-reuse", "false", "--ignore-eos", "true"};
  app.parse(static_cast<int>(std::size(argv)), argv);
  EXPECT_EQ(c.model_path, "/m.gguf");
  EXPECT_EQ(c.n_ctx, 1024);
  EXPECT_EQ(c.n_parallel, 8);
  EXPECT_EQ(c.chat_template, "transcript");
  EXPECT_FALSE(c.kv_reuse);
  EXPECT_TRUE(c.ignore_eos);
}

TEST(llama_config, environment_variables_set_the_fields) {
  ::setenv("PREFILL_CHUNK", "32", 1);
  ::setenv("MODEL_THREADS", "3", 1);
  ::setenv("MODEL_POLL", "0", 1);
  ::setenv("SHIFT_MIN_TOKENS", "0", 1);
  ::setenv("HOST_CACHE_MIB", "64", 1);
  ::setenv("FLASH_ATTN", "auto", 1);
  CLI::App app;
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker"};
  app.parse(1, argv);
  ::unsetenv("PREFILL_CHUNK");
  ::unsetenv("MODEL_THREADS");
  ::unsetenv("MODEL_POLL");
  ::unsetenv("SHIFT_MIN_TOKENS");
  ::unsetenv("HOST_CACHE_MIB");
  ::unsetenv("FLASH_ATTN");
  EXPECT_EQ(c.prefill_chunk, 32);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.poll, 0);
  EXPECT_EQ(c.shift_min_tokens, 0);
  EXPECT_EQ(c.host_cache_mib, 64);
  EXPECT_EQ(c.flash_attn, "auto");
}

TEST(llama_config, leaves_sampling_and_the_system_prompt_to_the_worker) {
  // Requests carry them (worker_config's --temperature, --system-prompt...): the backend has no
  // second copy that could disagree.
  CLI::App app;
  llama_config c;
  register_options(app, c);
  for (const char* flag : {"--temperature", "--top-p", "--top-k", "--max-new-tokens", "--seed", "--stop",
                           "--system-prompt"}) {
    EXPECT_EQ(app.get_option_no_throw(flag), nullptr) << flag;
  }
}

TEST(llama_config, rejects_a_value_of_the_wrong_type) {
  CLI::App app;
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker", "--parallel", "many"};
  EXPECT_THROW(app.parse(3, argv), CLI::ParseError);
}

TEST(llama_config, validate_names_the_bad_setting) {
  llama_config c;
  c.model_path = "/m.gguf";
  EXPECT_FALSE(validate(c));
  EXPECT_EQ(validate(llama_config{}).value_or(""), "no model: set MODEL (or --model) to a GGUF file path");
  auto bad = c;
  bad.n_parallel = 8;
  bad.n_batch = 4;
  EXPECT_EQ(validate(bad).value_or(""), "--batch-size must be at least --parallel");
  bad = c;
  bad.reply_budget = bad.n_ctx;
  EXPECT_EQ(validate(bad).value_or(""), "--reply-budget must be at least 1 and below --ctx-size");
  bad = c;
  bad.chat_template = "jinja";
  EXPECT_EQ(validate(bad).value_or(""), "--chat-template must be empty or 'transcript'");
  bad = c;
  bad.poll = 101;
  EXPECT_EQ(validate(bad).value_or(""), "--poll must be between 0 and 100");
  bad = c;
  bad.host_cache_mib = -1;
  EXPECT_EQ(validate(bad).value_or(""), "--host-cache-mib must not be negative");
  bad = c;
  bad.shift_min_tokens = -1;
  EXPECT_EQ(validate(bad).value_or(""), "--shift-min-tokens must not be negative");
  bad = c;
  bad.flash_attn = "yes";
  EXPECT_EQ(validate(bad).value_or(""), "--flash-attn must be off, on or auto, not 'yes'");
}

TEST(llama_config, flash_attn_takes_only_off_on_or_auto) {
  CLI::App app;
  llama_config c;
  register_options(app, c);
  EXPECT_EQ(c.flash_attn, "off");
  const char* argv[] = {"worker", "--flash-attn", "true"};
  EXPECT_THROW(app.parse(3, argv), CLI::ValidationError);
}

}  // namespace
}  // namespace parley::worker::local
