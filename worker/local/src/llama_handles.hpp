#pragma once
// Owning handles for llama.cpp objects.
#include <ggml-cpu.h>
#include <llama.h>

#include <memory>

namespace parley::worker::local {

struct model_deleter {
  void operator()(llama_model* m) const noexcept { llama_model_free(m); }
};
struct context_deleter {
  void operator()(llama_context* c) const noexcept { llama_free(c); }
};
struct sampler_deleter {
  void operator()(llama_sampler* s) const noexcept { llama_sampler_free(s); }
};

struct threadpool_deleter {
  void operator()(ggml_threadpool* t) const noexcept { ggml_threadpool_free(t); }
};

using threadpool_ptr = std::unique_ptr<ggml_threadpool, threadpool_deleter>;
using model_ptr = std::unique_ptr<llama_model, model_deleter>;
using context_ptr = std::unique_ptr<llama_context, context_deleter>;
using sampler_ptr = std::unique_ptr<llama_sampler, sampler_deleter>;

// A llama_batch with room for `capacity` tokens of one sequence id each.
class batch_holder {
 public:
  explicit batch_holder(int capacity) : batch_(llama_batch_init(capacity, 0, 1)), capacity_(capacity) {}
  ~batch_holder() { llama_batch_free(batch_); }
  batch_holder(const batch_holder&) = delete;
  batch_holder& operator=(const batch_holder&) = delete;

  void clear() noexcept { batch_.n_tokens = 0; }
  int size() const noexcept { return batch_.n_tokens; }
  int capacity() const noexcept { return capacity_; }
  // Returns the token's row in the batch.
  int add(llama_token token, llama_pos pos, llama_seq_id seq, bool logits) noexcept {
    const int i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = logits ? 1 : 0;
    return i;
  }
  const llama_batch& get() const noexcept { return batch_; }

 private:
  llama_batch batch_;
  int capacity_;
};

}  // namespace parley::worker::local
