// Writes a tiny llama-architecture GGUF with random weights and a real vocabulary copied from one
// of llama.cpp's bundled ggml-vocab-*.gguf files, so tests and benchmarks run a real model through
// llama.cpp on a fresh clone without downloading anything. The text it produces is noise; what
// matters is that tokenizer, KV cache, batching and sampling are all exercised for real.
#include <CLI/CLI.hpp>
#include <ggml.h>
#include <gguf.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct tiny_model_options {
  std::string vocab_path;
  std::string output_path;
  std::string chat_template;  // empty: none (a base model, prompted with the transcript form)
  // Byte-fallback tokens become control tokens, which detokenize to nothing: the model then only
  // ever prints whole vocabulary pieces, i.e. valid UTF-8, as a trained model does. Random weights
  // otherwise emit lone bytes that strict servers refuse (llama-server's chat-output parser fails
  // on invalid UTF-8). Prompts still tokenize as before: byte fallback looks tokens up by text.
  bool text_only = false;
  int n_embd = 64;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 128;
  int n_ctx_train = 4096;
  unsigned seed = 42;
  // Wide enough that the next-token distribution is not flat, so seeded sampling is repeatable
  // and the model sometimes repeats itself as real models do.
  float weight_std = 0.2f;
};

// ChatML, recognised by llama_chat_apply_template's built-in detection.
constexpr std::string_view chatml_template =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' "
    "}}{% endif %}";

bool is_vocabulary_key(std::string_view key) { return key.starts_with("tokenizer."); }

// Token types as llama.cpp's llama_token_type enum numbers them.
constexpr std::int32_t token_type_control = 3;
constexpr std::int32_t token_type_byte = 6;

bool mark_byte_tokens_as_control(gguf_context* ctx) {
  const std::int64_t key = gguf_find_key(ctx, "tokenizer.ggml.token_type");
  if (key < 0 || gguf_get_arr_type(ctx, key) != GGUF_TYPE_INT32) return false;
  const auto n = gguf_get_arr_n(ctx, key);
  const auto* src = static_cast<const std::int32_t*>(gguf_get_arr_data(ctx, key));
  std::vector<std::int32_t> types(src, src + n);
  for (auto& t : types)
    if (t == token_type_byte) t = token_type_control;
  gguf_set_arr_data(ctx, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types.data(), types.size());
  return true;
}

int write_model(const tiny_model_options& opt) {
  gguf_init_params src_params{.no_alloc = true, .ctx = nullptr};
  gguf_context* vocab = gguf_init_from_file(opt.vocab_path.c_str(), src_params);
  if (vocab == nullptr) {
    std::fprintf(stderr, "make_tiny_model: cannot read vocabulary file %s\n", opt.vocab_path.c_str());
    return 1;
  }
  const std::int64_t tokens_key = gguf_find_key(vocab, "tokenizer.ggml.tokens");
  if (tokens_key < 0) {
    std::fprintf(stderr, "make_tiny_model: %s has no tokenizer.ggml.tokens\n", opt.vocab_path.c_str());
    gguf_free(vocab);
    return 1;
  }
  const auto n_vocab = static_cast<std::int64_t>(gguf_get_arr_n(vocab, tokens_key));

  gguf_context* out = gguf_init_empty();
  gguf_set_kv(out, vocab);
  gguf_free(vocab);
  for (std::int64_t i = gguf_get_n_kv(out) - 1; i >= 0; --i) {
    const std::string key = gguf_get_key(out, i);
    if (!is_vocabulary_key(key)) gguf_remove_key(out, key.c_str());
  }
  if (opt.text_only && !mark_byte_tokens_as_control(out)) {
    std::fprintf(stderr, "make_tiny_model: %s has no tokenizer.ggml.token_type\n", opt.vocab_path.c_str());
    gguf_free(out);
    return 1;
  }
  if (opt.chat_template.empty()) {
    gguf_remove_key(out, "tokenizer.chat_template");
  } else {
    gguf_set_val_str(out, "tokenizer.chat_template", opt.chat_template.c_str());
  }

  gguf_set_val_str(out, "general.architecture", "llama");
  gguf_set_val_str(out, "general.name", "parley-tiny-random");
  gguf_set_val_u32(out, "general.file_type", 0);
  gguf_set_val_u32(out, "llama.context_length", opt.n_ctx_train);
  gguf_set_val_u32(out, "llama.embedding_length", opt.n_embd);
  gguf_set_val_u32(out, "llama.block_count", opt.n_layer);
  gguf_set_val_u32(out, "llama.feed_forward_length", opt.n_ff);
  gguf_set_val_u32(out, "llama.attention.head_count", opt.n_head);
  gguf_set_val_u32(out, "llama.attention.head_count_kv", opt.n_head_kv);
  gguf_set_val_u32(out, "llama.rope.dimension_count", opt.n_embd / opt.n_head);
  gguf_set_val_f32(out, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
  gguf_set_val_u32(out, "llama.vocab_size", static_cast<std::uint32_t>(n_vocab));

  const std::int64_t n_embd_kv = opt.n_embd / opt.n_head * opt.n_head_kv;
  struct shape {
    std::string name;
    std::int64_t ne0;
    std::int64_t ne1;  // 0: a vector (norm weights, all ones)
  };
  std::vector<shape> shapes{{"token_embd.weight", opt.n_embd, n_vocab},
                            {"output_norm.weight", opt.n_embd, 0},
                            {"output.weight", opt.n_embd, n_vocab}};
  for (int l = 0; l < opt.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    shapes.push_back({p + "attn_norm.weight", opt.n_embd, 0});
    shapes.push_back({p + "attn_q.weight", opt.n_embd, opt.n_embd});
    shapes.push_back({p + "attn_k.weight", opt.n_embd, n_embd_kv});
    shapes.push_back({p + "attn_v.weight", opt.n_embd, n_embd_kv});
    shapes.push_back({p + "attn_output.weight", opt.n_embd, opt.n_embd});
    shapes.push_back({p + "ffn_norm.weight", opt.n_embd, 0});
    shapes.push_back({p + "ffn_gate.weight", opt.n_embd, opt.n_ff});
    shapes.push_back({p + "ffn_down.weight", opt.n_ff, opt.n_embd});
    shapes.push_back({p + "ffn_up.weight", opt.n_embd, opt.n_ff});
  }

  std::size_t bytes = 0;
  for (const auto& s : shapes) bytes += sizeof(float) * s.ne0 * std::max<std::int64_t>(s.ne1, 1);
  ggml_init_params mem{.mem_size = bytes + shapes.size() * ggml_tensor_overhead() + (1 << 20),
                       .mem_buffer = nullptr,
                       .no_alloc = false};
  ggml_context* tensors = ggml_init(mem);

  std::mt19937 rng(opt.seed);
  std::normal_distribution<float> normal(0.0f, opt.weight_std);
  for (const auto& s : shapes) {
    ggml_tensor* t = s.ne1 == 0 ? ggml_new_tensor_1d(tensors, GGML_TYPE_F32, s.ne0)
                                : ggml_new_tensor_2d(tensors, GGML_TYPE_F32, s.ne0, s.ne1);
    ggml_set_name(t, s.name.c_str());
    auto* data = static_cast<float*>(t->data);
    for (std::int64_t i = 0; i < ggml_nelements(t); ++i) data[i] = s.ne1 == 0 ? 1.0f : normal(rng);
    gguf_add_tensor(out, t);
  }

  const auto tmp = opt.output_path + ".tmp";
  const bool ok = gguf_write_to_file(out, tmp.c_str(), false);
  gguf_free(out);
  ggml_free(tensors);
  if (!ok) {
    std::fprintf(stderr, "make_tiny_model: cannot write %s\n", tmp.c_str());
    return 1;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, opt.output_path, ec);
  if (ec) {
    std::fprintf(stderr, "make_tiny_model: cannot move %s into place: %s\n", tmp.c_str(),
                 ec.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  tiny_model_options opt;
  std::string template_name = "none";
  CLI::App app{"Writes a tiny llama-architecture GGUF with random weights for tests."};
  app.add_option("--vocab", opt.vocab_path, "a llama.cpp ggml-vocab-*.gguf file")->required()->check(CLI::ExistingFile);
  app.add_option("-o,--output", opt.output_path, "the GGUF file to write")->required();
  app.add_option("--chat-template", template_name, "chat template to embed")
      ->check(CLI::IsMember({"none", "chatml"}))
      ->capture_default_str();
  app.add_flag("--text-only", opt.text_only,
               "byte-fallback tokens print nothing, so all output is valid UTF-8 (for strict servers)");
  app.add_option("--embd", opt.n_embd, "embedding width")->capture_default_str();
  app.add_option("--layers", opt.n_layer, "transformer blocks")->capture_default_str();
  app.add_option("--heads", opt.n_head, "attention heads")->capture_default_str();
  app.add_option("--kv-heads", opt.n_head_kv, "key/value heads")->capture_default_str();
  app.add_option("--ff", opt.n_ff, "feed-forward width")->capture_default_str();
  app.add_option("--seed", opt.seed, "weight seed")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (template_name == "chatml") opt.chat_template = chatml_template;
  if (opt.n_embd % opt.n_head != 0 || opt.n_head % opt.n_head_kv != 0) {
    std::fprintf(stderr, "make_tiny_model: --embd must divide by --heads, --heads by --kv-heads\n");
    return 2;
  }
  return write_model(opt);
}
