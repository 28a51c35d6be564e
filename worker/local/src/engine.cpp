#include "engine.hpp"

#include <parley/worker/local/llama_errors.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <thread>

namespace parley::worker::local {

namespace {

// llama.cpp logs a lot at info level while loading; only its warnings and errors reach the
// worker's log.
void forward_llama_log(ggml_log_level level, const char* text, void*) {
  if (level != GGML_LOG_LEVEL_WARN && level != GGML_LOG_LEVEL_ERROR) return;
  std::string_view msg(text);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == '\r')) msg.remove_suffix(1);
  if (msg.empty()) return;
  if (level == GGML_LOG_LEVEL_ERROR) {
    spdlog::error("llama.cpp: {}", msg);
  } else {
    spdlog::warn("llama.cpp: {}", msg);
  }
}

void init_llama_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    llama_log_set(forward_llama_log, nullptr);
    llama_backend_init();
  });
}

sampler_ptr make_sampler(const sampling_params& p, const std::vector<llama_logit_bias>& bias,
                         int n_vocab) {
  auto params = llama_sampler_chain_default_params();
  params.no_perf = true;
  sampler_ptr chain(llama_sampler_chain_init(params));
  if (!bias.empty()) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_logit_bias(
                                             n_vocab, static_cast<int32_t>(bias.size()), bias.data()));
  }
  const std::uint32_t seed = p.seed.value_or(LLAMA_DEFAULT_SEED);
  if (p.temperature <= 0.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_greedy());
    return chain;
  }
  if (p.top_k > 0) llama_sampler_chain_add(chain.get(), llama_sampler_init_top_k(p.top_k));
  if (p.top_p > 0.0f && p.top_p < 1.0f) {
    llama_sampler_chain_add(chain.get(), llama_sampler_init_top_p(p.top_p, 1));
  }
  llama_sampler_chain_add(chain.get(), llama_sampler_init_temp(p.temperature));
  llama_sampler_chain_add(chain.get(), llama_sampler_init_dist(seed));
  return chain;
}

// `special`: control tokens as their text (for comparing token runs) instead of nothing (for
// the reply).
std::string token_piece(const llama_vocab* vocab, llama_token token, bool special = false) {
  std::string piece(16, '\0');
  int n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int>(piece.size()), 0, special);
  if (n < 0) {
    piece.resize(-n);
    n = llama_token_to_piece(vocab, token, piece.data(), static_cast<int>(piece.size()), 0, special);
  }
  piece.resize(std::max(n, 0));
  return piece;
}

void update_max(std::atomic<std::int64_t>& target, std::int64_t value) {
  auto current = target.load(std::memory_order_relaxed);
  while (value > current && !target.compare_exchange_weak(current, value)) {
  }
}

}  // namespace

boost::system::result<std::unique_ptr<engine>> engine::create(const llama_config& config) {
  if (auto why = validate(config)) {
    spdlog::error("llama: invalid configuration: {}", *why);
    return llama_errc::invalid_config;
  }
  std::error_code fs_ec;
  if (!std::filesystem::is_regular_file(config.model_path, fs_ec)) {
    spdlog::error("llama: model file {} not found", config.model_path);
    return llama_errc::model_not_found;
  }
  init_llama_once();

  auto mparams = llama_model_default_params();
  mparams.n_gpu_layers = 0;
  model_ptr model(llama_model_load_from_file(config.model_path.c_str(), mparams));
  if (!model) {
    spdlog::error("llama: cannot load model {}", config.model_path);
    return llama_errc::model_load_failed;
  }

  const int threads = config.threads > 0
                          ? config.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto cparams = llama_context_default_params();
  cparams.n_ctx = static_cast<std::uint32_t>(config.n_ctx) * config.n_parallel;
  cparams.n_seq_max = config.n_parallel;
  cparams.n_batch = config.n_batch;
  cparams.n_ubatch = std::min(config.n_batch, 512);
  cparams.n_threads = threads;
  cparams.n_threads_batch = threads;
  // Separate KV buffers per sequence: sessions share no prefix worth unifying, and attention
  // then only reads each sequence's own cells.
  cparams.kv_unified = false;
  cparams.no_perf = true;
  cparams.flash_attn_type = config.flash_attn == "on"    ? LLAMA_FLASH_ATTN_TYPE_ENABLED
                            : config.flash_attn == "off" ? LLAMA_FLASH_ATTN_TYPE_DISABLED
                                                         : LLAMA_FLASH_ATTN_TYPE_AUTO;
  // One pool for the worker's life (without it ggml starts threads for every decode call), with
  // the configured spinning.
  auto pool_params = ggml_threadpool_params_default(threads);
  pool_params.poll = static_cast<std::uint32_t>(config.poll);
  threadpool_ptr pool(ggml_threadpool_new(&pool_params));
  if (!pool) {
    spdlog::error("llama: cannot start {} inference threads", threads);
    return llama_errc::context_failed;
  }
  context_ptr context(llama_init_from_model(model.get(), cparams));
  if (!context) {
    spdlog::error("llama: cannot create a context of {} tokens", cparams.n_ctx);
    return llama_errc::context_failed;
  }
  llama_attach_threadpool(context.get(), pool.get(), pool.get());
  return std::unique_ptr<engine>(new engine(config, std::move(model), std::move(pool), std::move(context)));
}

engine::engine(const llama_config& config, model_ptr model, threadpool_ptr threads, context_ptr context)
    : config_(config),
      model_(std::move(model)),
      threads_(std::move(threads)),
      context_(std::move(context)),
      vocab_(llama_model_get_vocab(model_.get())),
      prompt_(model_.get(), config.chat_template),
      n_ctx_seq_(static_cast<int>(llama_n_ctx_seq(context_.get()))),
      shift_min_(llama_memory_can_shift(llama_get_memory(context_.get()))
                     ? static_cast<std::size_t>(config.shift_min_tokens)
                     : 0),
      piece_([vocab = vocab_](llama_token t) { return token_piece(vocab, t, true); }),
      batch_(config.n_batch),
      host_cache_(config.kv_reuse ? static_cast<std::size_t>(config.host_cache_mib) << 20 : 0) {
  if (host_cache_.enabled()) metrics_.host_cache = &host_cache_.counters();
  if (config_.ignore_eos) {
    const int n_vocab = llama_vocab_n_tokens(vocab_);
    for (llama_token t = 0; t < n_vocab; ++t) {
      if (llama_vocab_is_eog(vocab_, t)) eog_bias_.push_back({t, -std::numeric_limits<float>::infinity()});
    }
  }
  slots_.resize(config_.n_parallel);
  for (int i = 0; i < config_.n_parallel; ++i) slots_[i].seq = i;
  thread_ = std::thread([this] { run(); });
}

engine::~engine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_one();
  thread_.join();
}

void engine::submit(std::shared_ptr<job> j) {
  j->mark_submitted();
  metrics_.requests.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      incoming_.push_back(std::move(j));
      metrics_.waiting_requests.fetch_add(1, std::memory_order_relaxed);
      wakeup_.notify_one();
      return;
    }
  }
  j->complete(llama_errc::shutting_down);
}

void engine::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wakeup_.notify_one();
}

void engine::run() {
  for (;;) {
    {
      const bool busy = std::ranges::any_of(slots_, [](const slot& s) { return s.active != nullptr; });
      std::unique_lock lock(mutex_);
      wakeup_.wait(lock, [&] { return stopping_ || woken_ || busy || !incoming_.empty(); });
      woken_ = false;
      if (stopping_) break;
      for (auto& j : incoming_) waiting_.push_back({std::move(j), {}});
      incoming_.clear();
    }
    try {
      admit();
      step();
    } catch (const std::exception& e) {
      // Out of memory or a llama.cpp exception: fail what is running, keep serving.
      spdlog::error("llama: scheduler step failed: {}", e.what());
      for (auto& s : slots_) {
        if (s.active) fail(s, llama_errc::decode_failed);
      }
    }
  }

  std::vector<std::shared_ptr<job>> left;
  {
    std::lock_guard lock(mutex_);
    left = std::move(incoming_);
  }
  for (auto& w : waiting_) left.push_back(std::move(w.j));
  waiting_.clear();
  for (auto& j : left) {
    metrics_.waiting_requests.fetch_sub(1, std::memory_order_relaxed);
    j->complete(llama_errc::shutting_down);
  }
  for (auto& s : slots_) {
    if (s.active) fail(s, llama_errc::shutting_down);
  }
}

void engine::admit() {
  // A request stopped while queued ends now, wherever it is in the queue.
  std::erase_if(waiting_, [this](const waiting_job& w) {
    if (!w.j->cancelled()) return false;
    metrics_.waiting_requests.fetch_sub(1, std::memory_order_relaxed);
    metrics_.finished_cancelled.fetch_add(1, std::memory_order_relaxed);
    w.j->complete(generation_result{.text = {}, .reason = finish_reason::cancelled});
    return true;
  });
  while (!waiting_.empty()) {
    auto& w = waiting_.front();
    if (w.prompt.empty()) {
      const auto& req = w.j->request();
      auto built = prompt_.build(req.system_prompt, req.history, n_ctx_seq_ - config_.reply_budget,
                                 config_.trim_turns);
      if (!built) {
        metrics_.waiting_requests.fetch_sub(1, std::memory_order_relaxed);
        metrics_.failed.fetch_add(1, std::memory_order_relaxed);
        w.j->complete(built.error());
        waiting_.pop_front();
        continue;
      }
      w.prompt = std::move(built->tokens);
    }
    slot* s = choose_slot(w.j->request().session);
    if (s == nullptr) return;  // every slot is busy; requests keep their order
    start(*s, w);
    waiting_.pop_front();
  }
}

engine::slot* engine::choose_slot(const std::string& session) {
  slot* empty = nullptr;
  slot* lru = nullptr;
  for (auto& s : slots_) {
    if (s.active) continue;
    if (config_.kv_reuse && !session.empty() && s.session == session) return &s;
    if (s.session.empty() && s.cache.empty()) {
      if (empty == nullptr) empty = &s;
    } else if (lru == nullptr || s.last_used < lru->last_used) {
      lru = &s;
    }
  }
  if (empty != nullptr) return empty;
  if (lru != nullptr) evict(*lru);
  return lru;
}

namespace {
bool continues_reply(const generation_request& req) {
  return !req.history.empty() && req.history.back().speaker == chat_turn::role::assistant;
}
}  // namespace

void engine::start(slot& s, waiting_job& w) {
  metrics_.waiting_requests.fetch_sub(1, std::memory_order_relaxed);
  metrics_.queue_wait_seconds.observe(seconds_since(w.j->submitted()));
  metrics_.active_sequences.fetch_add(1, std::memory_order_relaxed);

  auto& req = w.j->request();
  s.active = std::move(w.j);
  s.prompt = std::move(w.prompt);

  if (config_.kv_reuse) {
    if (s.session != req.session) restore(s, req.session);
    reuse_cache(s);
  } else {
    clear_slot(s);
  }
  s.session = req.session;
  s.prefill_next = s.cache.size();
  s.cached = static_cast<int>(s.cache.size());
  metrics_.cached_tokens.fetch_add(s.cache.size(), std::memory_order_relaxed);

  const sampling_params& sp = req.sampling;
  s.max_new = std::min(sp.max_new_tokens, n_ctx_seq_ - static_cast<int>(s.prompt.size()));
  s.generated = 0;
  s.first_token = true;
  s.next.reset();
  s.batch_index = -1;
  s.sampler = make_sampler(sp, eog_bias_, llama_vocab_n_tokens(vocab_));
  std::vector<std::string> stops = prompt_.stop_strings();
  stops.insert(stops.end(), sp.stop.begin(), sp.stop.end());
  s.text.emplace(std::move(stops), continues_reply(req));
  s.reply.clear();
  if (s.max_new <= 0) finish(s, finish_reason::length);
}

void engine::step() {
  for (auto& s : slots_) {
    if (s.active && s.active->cancelled()) finish(s, finish_reason::cancelled);
  }

  batch_.clear();
  std::vector<std::pair<slot*, int>> fed;  // slot, tokens added to the batch
  for (auto& s : slots_) {
    if (!s.active || !s.next) continue;
    s.batch_index = batch_.add(*s.next, static_cast<llama_pos>(s.cache.size()), s.seq, true);
    fed.emplace_back(&s, 1);
  }
  const int generating = batch_.size();
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    auto& s = slots_[(prefill_cursor_ + k) % slots_.size()];
    if (!s.active || s.next || s.prefill_next >= s.prompt.size()) continue;
    const int room = batch_.capacity() - batch_.size();
    const int n = std::min({config_.prefill_chunk, room,
                            static_cast<int>(s.prompt.size() - s.prefill_next)});
    if (n <= 0) break;
    const auto pos0 = static_cast<llama_pos>(s.cache.size());
    for (int i = 0; i < n; ++i) {
      const bool last = s.prefill_next + i + 1 == s.prompt.size();
      const int row = batch_.add(s.prompt[s.prefill_next + i], pos0 + i, s.seq, last);
      if (last) s.batch_index = row;
    }
    fed.emplace_back(&s, n);
  }
  prefill_cursor_ = (prefill_cursor_ + 1) % slots_.size();
  if (batch_.size() == 0) return;

  const int rc = llama_decode(context_.get(), batch_.get());
  metrics_.decode_calls.fetch_add(1, std::memory_order_relaxed);
  if (rc != 0) {
    spdlog::error("llama: llama_decode returned {} for a batch of {} tokens", rc, batch_.size());
    for (auto [s, n] : fed) fail(*s, llama_errc::decode_failed);
    return;
  }
  metrics_.batch_sequences.observe(static_cast<double>(fed.size()));
  metrics_.batch_tokens.observe(batch_.size());
  update_max(metrics_.max_batch_sequences, static_cast<std::int64_t>(fed.size()));
  metrics_.prompt_tokens.fetch_add(batch_.size() - generating, std::memory_order_relaxed);

  for (auto [s, n] : fed) {
    if (s->next) {
      s->cache.push_back(*s->next);
      s->next.reset();
    } else {
      s->cache.insert(s->cache.end(), s->prompt.begin() + s->prefill_next,
                      s->prompt.begin() + s->prefill_next + n);
      s->prefill_next += n;
    }
  }
  for (auto [s, n] : fed) {
    if (s->batch_index < 0) continue;
    const int row = std::exchange(s->batch_index, -1);
    accept_token(*s, llama_sampler_sample(s->sampler.get(), context_.get(), row));
  }
}

void engine::accept_token(slot& s, llama_token token) {
  if (s.first_token) {
    s.first_token = false;
    metrics_.time_to_first_token_seconds.observe(seconds_since(s.active->submitted()));
  }
  ++s.generated;
  metrics_.generated_tokens.fetch_add(1, std::memory_order_relaxed);
  if (llama_vocab_is_eog(vocab_, token)) {
    finish(s, finish_reason::stop);
    return;
  }
  const std::string delta = s.text->push(token_piece(vocab_, token));
  s.reply += delta;
  s.active->publish(delta);
  if (s.text->stopped()) {
    finish(s, finish_reason::stop);
  } else if (s.generated >= s.max_new) {
    finish(s, finish_reason::length);
  } else {
    s.next = token;
  }
}

void engine::finish(slot& s, finish_reason reason) {
  const std::string tail = s.text->finish();
  s.reply += tail;
  s.active->publish(tail);
  generation_result result{.text = std::move(s.reply),
                           .reason = reason,
                           .prompt_tokens = static_cast<int>(s.prompt.size()),
                           .cached_tokens = s.cached,
                           .generated_tokens = s.generated};
  switch (reason) {
    case finish_reason::stop: metrics_.finished_stop.fetch_add(1, std::memory_order_relaxed); break;
    case finish_reason::length: metrics_.finished_length.fetch_add(1, std::memory_order_relaxed); break;
    case finish_reason::cancelled: metrics_.finished_cancelled.fetch_add(1, std::memory_order_relaxed); break;
  }
  // Metrics first: a caller that sees the outcome also sees them.
  metrics_.active_sequences.fetch_sub(1, std::memory_order_relaxed);
  std::exchange(s.active, nullptr)->complete(std::move(result));
  s.next.reset();
  s.batch_index = -1;
  s.sampler.reset();
  s.text.reset();
  s.reply.clear();
  s.last_used = ++tick_;
  if (!config_.kv_reuse) clear_slot(s);
}

void engine::fail(slot& s, boost::system::error_code ec) {
  metrics_.failed.fetch_add(1, std::memory_order_relaxed);
  metrics_.active_sequences.fetch_sub(1, std::memory_order_relaxed);
  std::exchange(s.active, nullptr)->complete(ec);
  s.next.reset();
  s.batch_index = -1;
  s.sampler.reset();
  s.text.reset();
  s.reply.clear();
  // The cache may hold part of a failed batch; start the session over next time.
  clear_slot(s);
}

void engine::evict(slot& s) {
  metrics_.evictions.fetch_add(1, std::memory_order_relaxed);
  if (host_cache_.enabled() && !s.session.empty() && !s.cache.empty()) {
    stored_state state;
    state.bytes.resize(llama_state_seq_get_size(context_.get(), s.seq));
    const std::size_t n = llama_state_seq_get_data(context_.get(), state.bytes.data(), state.bytes.size(), s.seq);
    if (n > 0) {
      state.bytes.resize(n);
      state.tokens = std::move(s.cache);
      host_cache_.put(s.session, std::move(state));
    }
  }
  clear_slot(s);
}

// Scheduler thread, with `s` cleared (empty, or evicted for this turn).
void engine::restore(slot& s, const std::string& session) {
  clear_slot(s);
  if (!host_cache_.enabled() || session.empty()) return;
  auto state = host_cache_.take(session);
  if (!state) return;
  if (llama_state_seq_set_data(context_.get(), state->bytes.data(), state->bytes.size(), s.seq) == 0) {
    spdlog::warn("llama: the kept KV state of a session did not load; prefilling its prompt");
    metrics_.restore_failures.fetch_add(1, std::memory_order_relaxed);
    clear_slot(s);
    return;
  }
  s.cache = std::move(state->tokens);
}

// Keeps what the new prompt can use of the slot's cache (kv_reuse.hpp) and drops the rest;
// s.prompt becomes the plan's prompt (spliced runs as generated).
void engine::reuse_cache(slot& s) {
  auto plan = plan_kv_reuse(s.cache, std::move(s.prompt), piece_, shift_min_);
  s.prompt = std::move(plan.prompt);
  auto* mem = llama_get_memory(context_.get());
  bool ok = true;
  for (const auto& sh : plan.shifts) {
    const auto from = static_cast<llama_pos>(sh.from_begin);
    const auto delta = static_cast<llama_pos>(sh.delta);
    ok = ok && llama_memory_seq_rm(mem, s.seq, from + delta, from);
    if (ok) llama_memory_seq_add(mem, s.seq, from, static_cast<llama_pos>(sh.from_end), delta);
  }
  ok = ok && llama_memory_seq_rm(mem, s.seq, static_cast<llama_pos>(plan.reused), -1);
  if (!ok) {
    clear_slot(s);
    return;
  }
  s.cache.assign(s.prompt.begin(), s.prompt.begin() + static_cast<std::ptrdiff_t>(plan.reused));
  metrics_.shifted_tokens.fetch_add(plan.shifted, std::memory_order_relaxed);
  metrics_.spliced_tokens.fetch_add(plan.spliced, std::memory_order_relaxed);
}

void engine::clear_slot(slot& s) {
  llama_memory_seq_rm(llama_get_memory(context_.get()), s.seq, -1, -1);
  s.cache.clear();
  s.session.clear();
}

}  // namespace parley::worker::local
