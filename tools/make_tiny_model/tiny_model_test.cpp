// The models parley-make-tiny-model wrote at build time, loaded through llama.cpp: the text-only
// model never prints a lone byte (every token's piece is valid UTF-8) yet still tokenizes text
// outside its vocabulary, and the plain chat model keeps its byte tokens (the local backend's
// UTF-8 assembly is tested with them).
#include <gtest/gtest.h>
#include <llama.h>

#include <memory>
#include <string>
#include <vector>

namespace {

// RFC 3629 well-formedness: no stray continuation bytes, no truncated or overlong sequences.
bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) n = 1;
    else if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) n = 3;
    else if (c >= 0xF0 && c <= 0xF4) n = 4;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

struct model_deleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
using model_ptr = std::unique_ptr<llama_model, model_deleter>;

model_ptr load(const char* path) {
  auto params = llama_model_default_params();
  params.vocab_only = true;
  return model_ptr(llama_model_load_from_file(path, params));
}

std::string piece(const llama_vocab* vocab, llama_token t) {
  char buf[256];
  const int n = llama_token_to_piece(vocab, t, buf, sizeof buf, 0, false);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::vector<llama_token> tokenize(const llama_vocab* vocab, const std::string& text) {
  std::vector<llama_token> out(text.size() + 8);
  const int n = llama_tokenize(vocab, text.data(), static_cast<int>(text.size()), out.data(),
                               static_cast<int>(out.size()), false, false);
  out.resize(n > 0 ? n : 0);
  return out;
}

class tiny_models : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { llama_backend_init(); }
  static void TearDownTestSuite() { llama_backend_free(); }
};

TEST_F(tiny_models, the_text_only_model_prints_valid_utf8_for_every_token) {
  auto model = load(PARLEY_TINY_TEXT_MODEL);
  ASSERT_TRUE(model);
  const auto* vocab = llama_model_get_vocab(model.get());
  const int n = llama_vocab_n_tokens(vocab);
  ASSERT_GT(n, 1000);
  for (llama_token t = 0; t < n; ++t) ASSERT_TRUE(valid_utf8(piece(vocab, t))) << "token " << t;
}

TEST_F(tiny_models, the_text_only_model_still_tokenizes_characters_outside_its_vocabulary) {
  auto model = load(PARLEY_TINY_TEXT_MODEL);
  ASSERT_TRUE(model);
  const auto* vocab = llama_model_get_vocab(model.get());
  // The emoji is not a vocabulary piece: it becomes four byte-fallback tokens, not <unk>.
  const auto tokens = tokenize(vocab, "hi \xF0\x9F\x98\x80");
  ASSERT_FALSE(tokens.empty());
  for (auto t : tokens) EXPECT_EQ(llama_vocab_get_attr(vocab, t) & LLAMA_TOKEN_ATTR_UNKNOWN, 0) << t;
  EXPECT_GE(tokens.size(), 5u);
}

TEST_F(tiny_models, the_chat_model_keeps_its_byte_tokens) {
  auto model = load(PARLEY_TINY_MODEL);
  ASSERT_TRUE(model);
  const auto* vocab = llama_model_get_vocab(model.get());
  bool lone_byte = false;
  for (llama_token t = 0; t < llama_vocab_n_tokens(vocab) && !lone_byte; ++t)
    lone_byte = !valid_utf8(piece(vocab, t));
  EXPECT_TRUE(lone_byte) << "random-weight output should be able to split characters";
}

}  // namespace
