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
                        "--temperature", "0.2", "--seed", "5", "--chat-template", "transcript",
                        "--kv-reuse", "false", "--ignore-eos", "true"};
  app.parse(static_cast<int>(std::size(argv)), argv);
  EXPECT_EQ(c.model_path, "/m.gguf");
  EXPECT_EQ(c.n_ctx, 1024);
  EXPECT_EQ(c.n_parallel, 8);
  EXPECT_FLOAT_EQ(c.sampling.temperature, 0.2f);
  EXPECT_EQ(c.sampling.seed, 5u);
  EXPECT_EQ(c.chat_template, "transcript");
  EXPECT_FALSE(c.kv_reuse);
  EXPECT_TRUE(c.ignore_eos);
}

TEST(llama_config, environment_variables_set_the_fields) {
  ::setenv("PREFILL_CHUNK", "32", 1);
  ::setenv("MAX_NEW_TOKENS", "77", 1);
  CLI::App app;
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker"};
  app.parse(1, argv);
  ::unsetenv("PREFILL_CHUNK");
  ::unsetenv("MAX_NEW_TOKENS");
  EXPECT_EQ(c.prefill_chunk, 32);
  EXPECT_EQ(c.sampling.max_new_tokens, 77);
  EXPECT_FALSE(c.sampling.seed.has_value());
}

TEST(llama_config, leaves_flags_the_app_already_has_to_their_owner) {
  CLI::App app;
  float shared_temperature = 0.5f;
  app.add_option("--temperature", shared_temperature);
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker", "--temperature", "0.1"};
  app.parse(3, argv);
  EXPECT_FLOAT_EQ(shared_temperature, 0.1f);
  EXPECT_FLOAT_EQ(c.sampling.temperature, sampling_params{}.temperature);
}

TEST(llama_config, rejects_a_value_of_the_wrong_type) {
  CLI::App app;
  llama_config c;
  register_options(app, c);
  const char* argv[] = {"worker", "--parallel", "many"};
  EXPECT_THROW(app.parse(3, argv), CLI::ParseError);
}

}  // namespace
}  // namespace parley::worker::local
