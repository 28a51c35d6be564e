#pragma once
// The llama.cpp scheduler: one model, one llama_context with n_parallel sequences, and a thread
// of its own that runs the continuous-batching loop. Each step it admits waiting requests into
// free sequence slots, then builds one batch of one token for every reply in progress plus
// prompt chunks of newly admitted requests, decodes it, and samples the next token of every
// sequence that produced logits. A session's KV cache stays in its slot after the turn so the
// next turn prefills only what changed (kv_reuse.hpp: common prefix, splicing, context shift);
// when every slot is taken, the least recently used idle session is evicted, its KV state kept
// in host memory (state_store.hpp) and restored when the session returns.
//
// Thread-safety: submit(), wake() and metrics() may be called from any thread; everything else
// (the llama.cpp context, the slots, the waiting list) belongs to the scheduler thread.
#include "engine_metrics.hpp"
#include "job.hpp"
#include "kv_reuse.hpp"
#include "llama_handles.hpp"
#include "prompt_builder.hpp"
#include "reply_text.hpp"
#include "state_store.hpp"

#include <parley/worker/local/llama_config.hpp>

#include <boost/system/result.hpp>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace parley::worker::local {

class engine {
 public:
  static boost::system::result<std::unique_ptr<engine>> create(const llama_config& config);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // Queues `j` for the scheduler; completes it at once with shutting_down after shutdown began.
  void submit(std::shared_ptr<job> j);
  // Makes the scheduler look at its jobs again (a cancellation).
  void wake();

  const engine_metrics& metrics() const noexcept { return metrics_; }
  int context_per_session() const noexcept { return n_ctx_seq_; }
  bool uses_chat_template() const noexcept { return prompt_.uses_template(); }

 private:
  struct waiting_job {
    std::shared_ptr<job> j;
    std::vector<llama_token> prompt;  // empty until built (once, on first admission attempt)
  };

  struct slot {
    llama_seq_id seq = 0;
    std::string session;             // whose tokens are cached; empty: none
    std::vector<llama_token> cache;  // exactly the tokens in the KV cache for `seq`, in order
    std::uint64_t last_used = 0;     // LRU tick, for eviction of idle slots
    std::shared_ptr<job> active;     // the request being answered; null: idle
    // State of the active request:
    std::vector<llama_token> prompt;
    std::size_t prefill_next = 0;  // index in `prompt` of the next token to decode
    std::optional<llama_token> next;  // sampled and not decoded yet
    int cached = 0;
    int generated = 0;
    int max_new = 0;
    int batch_index = -1;  // row of this sequence's logits in the current batch
    bool first_token = true;
    sampler_ptr sampler;
    std::optional<reply_text> text;
    std::string reply;
  };

  engine(const llama_config& config, model_ptr model, threadpool_ptr threads, context_ptr context);

  void run();
  void admit();
  slot* choose_slot(const std::string& session);
  void start(slot& s, waiting_job& w);
  void step();
  void accept_token(slot& s, llama_token token);
  void finish(slot& s, finish_reason reason);
  void fail(slot& s, boost::system::error_code ec);
  void clear_slot(slot& s);
  void evict(slot& s);
  void restore(slot& s, const std::string& session);
  void reuse_cache(slot& s);

  llama_config config_;
  model_ptr model_;
  threadpool_ptr threads_;  // outlives context_, which runs its graphs on it
  context_ptr context_;
  const llama_vocab* vocab_;
  prompt_builder prompt_;
  int n_ctx_seq_;
  std::size_t shift_min_;  // 0 when the context cannot shift
  piece_fn piece_;         // token -> text, special tokens as text, for splicing
  std::vector<llama_logit_bias> eog_bias_;  // bans end-of-generation tokens when ignore_eos
  batch_holder batch_;
  std::vector<slot> slots_;
  std::deque<waiting_job> waiting_;  // scheduler thread only, FIFO
  std::uint64_t tick_ = 0;
  std::size_t prefill_cursor_ = 0;  // round-robin start among prefilling slots
  state_store host_cache_;
  engine_metrics metrics_;

  std::mutex mutex_;
  std::condition_variable wakeup_;
  std::vector<std::shared_ptr<job>> incoming_;  // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
  bool woken_ = false;                          // guarded by mutex_
  std::thread thread_;
};

}  // namespace parley::worker::local
