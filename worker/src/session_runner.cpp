#include <parley/worker/delta_writer.hpp>
#include <parley/worker/errors.hpp>
#include <parley/worker/events.hpp>
#include <parley/worker/metrics.hpp>
#include <parley/worker/prompt.hpp>
#include <parley/worker/session_runner.hpp>

#include <parley/keys.hpp>
#include <parley/time.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <optional>

namespace parley::worker {

namespace {

// The error code clients see when a message could not be answered (docs/protocol.md).
constexpr std::string_view generation_failed = "model_failed";
constexpr std::string_view generation_failed_text =
    "The model could not answer this message. Please send it again or start a new chat.";

std::chrono::milliseconds now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
}

std::chrono::microseconds between(std::chrono::system_clock::time_point from, std::chrono::system_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from);
}

}  // namespace

struct session_runner::session_context {
  session_context(net::any_io_executor ex, request_entry e) : entry(std::move(e)), heartbeat_timer(std::move(ex)) {}
  request_entry entry;
  // When the entry was read; the first turn answered for it is "taken up" then, later turns of
  // the same lease when they start.
  std::optional<std::chrono::system_clock::time_point> read_at;
  running_turn* current = nullptr;  // the turn being generated, for the heartbeat
  bool lease_lost = false;
  bool done = false;
  net::steady_timer heartbeat_timer;
};

session_runner::session_runner(net::any_io_executor ex, const worker_config& cfg, session_store& store,
                               request_queue& queue, backend& model, turn_registry& turns, worker_metrics& metrics)
    : ex_(std::move(ex)),
      cfg_(cfg),
      store_(store),
      queue_(queue),
      model_(model),
      turns_(turns),
      metrics_(metrics) {}

net::awaitable<session_outcome> session_runner::handle(request_entry entry) {
  const auto read_at = std::chrono::system_clock::now();
  if (!entry.valid) {
    // Not something the gateway writes: keep it for operators instead of dropping it silently.
    spdlog::error("request {} is malformed; moved to {}", entry.id, keys::deadletter_stream);
    auto dl = co_await queue_.dead_letter(entry, entry.seq, entry.message_id, "malformed request entry", 0);
    if (!dl) co_return session_outcome::abandoned;
    co_await queue_.ack(entry);
    co_return session_outcome::released;
  }

  auto acquired = co_await store_.acquire_and_read(entry.token);
  if (!acquired) {
    spdlog::warn("session lease for request {}: {}", entry.id, acquired.error().message());
    co_return session_outcome::abandoned;
  }
  if (!acquired->acquired) {
    // The holder re-checks for work before it releases (the release script), so this entry's
    // message will be answered by it. A claimed entry may belong to a dead worker whose lease
    // has not expired yet: leave it pending so that it is claimed again later.
    metrics_.lease_busy();
    if (!entry.claimed) co_await queue_.ack(entry);
    co_return session_outcome::lease_busy;
  }

  metrics_.active_sessions(1);
  auto ctx = std::make_shared<session_context>(ex_, std::move(entry));
  ctx->read_at = read_at;
  net::co_spawn(ex_, heartbeat(ctx), net::detached);
  const auto end = co_await answer_all(*ctx, std::move(acquired->state));
  ctx->done = true;
  ctx->heartbeat_timer.cancel();

  const auto& e = ctx->entry;
  session_outcome outcome{};
  switch (end) {
    case ending::released:
      outcome = session_outcome::released;
      co_await queue_.ack(e);
      break;
    case ending::handed_back:
      outcome = session_outcome::handed_back;
      co_await store_.drop_lease(e.token);
      co_await queue_.requeue(e);
      metrics_.turn(turn_result::handed_back);
      spdlog::info("session of request {} handed back for another worker", e.id);
      break;
    case ending::abandoned:
      outcome = session_outcome::abandoned;
      co_await store_.drop_lease(e.token);
      spdlog::warn("request {} left pending after a Redis failure; it will be claimed again", e.id);
      break;
    case ending::lease_lost:
      outcome = session_outcome::lease_lost;
      metrics_.turn(turn_result::lease_lost);
      spdlog::warn("lost the session lease while answering request {}; another worker continues", e.id);
      break;
  }
  metrics_.active_sessions(-1);
  co_return outcome;
}

net::awaitable<void> session_runner::heartbeat(std::shared_ptr<session_context> ctx) {
  while (!ctx->done) {
    ctx->heartbeat_timer.expires_after(cfg_.heartbeat_interval);
    co_await ctx->heartbeat_timer.async_wait(net::as_tuple(net::use_awaitable));
    if (ctx->done) break;
    auto hb = co_await store_.heartbeat(ctx->entry.token);
    if (!hb || ctx->done) continue;  // a Redis failure shows up in the turn's own writes too
    // Under the consumer name the entry was read with, so the group lists each worker once.
    if (hb->ours) co_await queue_.keep_claimed(ctx->entry);
    if (ctx->done) break;
    if (!hb->ours) {
      ctx->lease_lost = true;
      if (ctx->current) ctx->current->stop(stop_cause::lease_lost);
      break;
    }
    // The stop key covers stop frames published while our subscriber was reconnecting.
    if (hb->stop && ctx->current && *hb->stop == ctx->current->message_id) ctx->current->stop(stop_cause::user);
  }
}

net::awaitable<session_runner::ending> session_runner::answer_all(session_context& ctx, session_state first) {
  const std::string& token = ctx.entry.token;
  std::optional<session_state> known = std::move(first);
  for (;;) {
    if (ctx.lease_lost) co_return ending::lease_lost;
    // (No co_await inside ?: — g++ 12 mishandles it.)
    result<session_state> state = errc::unexpected_reply;
    if (known) {
      state = std::move(*known);
      known.reset();
    } else {
      state = co_await store_.read_state(token);
    }
    if (!state) {
      spdlog::error("reading session of request {}: {}", ctx.entry.id, state.error().message());
      co_return ending::abandoned;
    }
    if (state->done_seq >= state->next_seq) {
      auto released = co_await store_.release(token);
      if (!released) co_return ending::abandoned;
      if (*released == 1) co_return ending::released;
      if (*released == -1) co_return ending::lease_lost;
      continue;  // a message arrived meanwhile: answer it before releasing
    }
    if (shutting_down_) co_return ending::handed_back;
    switch (co_await answer_turn(ctx, *state, state->done_seq + 1)) {
      case step::next: break;
      case step::released: co_return ending::released;
      case step::lease_lost: co_return ending::lease_lost;
      case step::handed_back: co_return ending::handed_back;
      case step::abandoned: co_return ending::abandoned;
    }
  }
}

net::awaitable<session_runner::step> session_runner::answer_turn(session_context& ctx, const session_state& state,
                                                                 long long seq) {
  const std::string& token = ctx.entry.token;
  using clock = std::chrono::system_clock;
  const auto taken_up = ctx.read_at.value_or(clock::now());
  ctx.read_at.reset();
  auto input = build_turn(state.history, seq, state.turn_seq, state.turn);
  std::string message_id = input ? input->message_id : (seq == ctx.entry.seq ? ctx.entry.message_id : "");

  running_turn turn{token, message_id, {}, stop_cause::none};
  turn_registry::registration registered(turns_, turn);
  ctx.current = &turn;
  struct clear_current {
    session_context& c;
    ~clear_current() { c.current = nullptr; }
  } clear{ctx};

  auto begin = co_await store_.begin_attempt(token, seq);
  if (!begin) co_return step::abandoned;
  if (begin->outcome == attempt_start::status::lease_lost) co_return step::lease_lost;
  if (begin->outcome == attempt_start::status::already_done) co_return step::next;
  const int attempt = begin->attempt;
  if (!input) {
    // Retrying cannot repair the stored history: answer with an error at once.
    co_return co_await dead_letter(ctx, seq, message_id, input.error().message(), attempt);
  }
  if (attempt > cfg_.max_attempts) {
    co_return co_await dead_letter(ctx, seq, message_id, begin->last_error.value_or("worker died mid-reply"),
                                   attempt - 1);
  }
  if (attempt == 1 && seq == ctx.entry.seq && !ctx.entry.claimed) metrics_.queue_wait(now_ms() - ctx.entry.added_at());

  std::vector<std::string> opening;
  if (attempt > 1) opening.push_back(reply_discard_event(message_id, attempt));
  opening.push_back(reply_start_event(message_id, seq, attempt, now_iso8601(),
                                      {input->kind, input->continues, input->version}));
  auto opened = co_await store_.emit(token, std::move(opening));
  if (!opened) co_return step::abandoned;
  if (!opened->ours) co_return step::lease_lost;
  bot_reply reply;
  reply.id = opened->ids.back();  // the reply_start event's id names the reply
  reply.reply_to = message_id;
  reply.seq = seq;

  generation_result gen;
  std::optional<clock::time_point> prompt_at, first_at, last_at;
  if (begin->stop && *begin->stop == message_id) {
    // The client asked to stop before this turn started: an empty, stopped reply.
    gen.reason = finish_reason::cancelled;
    turn.cause = stop_cause::user;
  } else {
    generation_request req{token, message_id, cfg_.system_prompt, std::move(input->history), cfg_.sampling};
    delta_writer writer(ex_, store_, metrics_, cfg_, token, message_id);
    auto generate = [&]() -> net::awaitable<boost::system::result<generation_result>> {
      prompt_at = clock::now();
      auto r = co_await model_.generate(
          std::move(req), [&writer](std::string_view piece) { writer.append(piece); }, turn.source.get_token());
      last_at = clock::now();
      writer.close();
      co_return r;
    };
    auto write = [&]() -> net::awaitable<boost::system::result<bool>> {
      auto w = co_await writer.run();
      if (!w) {
        turn.stop(stop_cause::redis_failed);
      } else if (!*w) {
        turn.stop(stop_cause::lease_lost);
      }
      co_return w;
    };
    using namespace net::experimental::awaitable_operators;
    auto [generated, written] = co_await (generate() && write());

    if (turn.cause == stop_cause::lease_lost || ctx.lease_lost) co_return step::lease_lost;
    if (turn.cause == stop_cause::redis_failed || !written) co_return step::abandoned;
    if (turn.cause == stop_cause::shutdown) co_return step::handed_back;
    if (!generated) {
      const std::string why = generated.error().message();
      metrics_.turn(turn_result::failed_attempt);
      spdlog::warn("attempt {} at message {} failed: {}", attempt, message_id, why);
      if (attempt >= cfg_.max_attempts) co_return co_await dead_letter(ctx, seq, message_id, why, attempt);
      if (!co_await store_.record_error(token, seq, why)) co_return step::abandoned;
      if (!shutting_down_) {
        net::steady_timer backoff(ex_, cfg_.retry_backoff);
        co_await backoff.async_wait(net::as_tuple(net::use_awaitable));
      }
      co_return step::next;
    }
    gen = std::move(*generated);
    if (gen.reason == finish_reason::cancelled && turn.cause == stop_cause::none) turn.cause = stop_cause::user;
    first_at = writer.first_piece_time();
  }

  // A continued reply is a new version holding the old text and what the model added to it.
  reply.text = input->prefix + gen.text;
  reply.timestamp = now_iso8601();
  reply.stopped = gen.reason == finish_reason::cancelled;
  reply.cut_off = gen.reason == finish_reason::length;
  const auto end_at = clock::now();
  reply_timing timing;
  timing.generated_tokens = gen.generated_tokens;
  timing.prompt_tokens = gen.prompt_tokens;
  timing.cached_tokens = gen.cached_tokens;
  timing.read_us = epoch_us(taken_up);
  timing.end_us = epoch_us(end_at);
  if (prompt_at && last_at) {
    timing.prompt_us = epoch_us(*prompt_at);
    timing.last_token_us = epoch_us(*last_at);
    metrics_.stage(turn_stage::prepare, between(taken_up, *prompt_at));
    if (first_at) {
      timing.first_token_us = epoch_us(*first_at);
      metrics_.stage(turn_stage::first_token, between(*prompt_at, *first_at));
      metrics_.stage(turn_stage::generate, between(*first_at, *last_at));
    }
    metrics_.stage(turn_stage::finish, between(*last_at, end_at));
  }
  const std::string end = reply_end_event(reply, to_string(gen.reason), timing);
  auto stored = co_await store_reply(ctx, seq, reply, end);
  const bool kept = stored == step::next || stored == step::released;
  if (kept && reply.stopped) {
    metrics_.turn(turn_result::stopped);
  } else if (kept) {
    metrics_.turn(turn_result::completed);
  }
  co_return stored;
}

net::awaitable<session_runner::step> session_runner::store_reply(session_context& ctx, long long seq,
                                                                 bot_reply& reply, const std::string& event_json) {
  auto r = co_await store_.complete(ctx.entry.token, seq, reply.reply_to, reply.id, history_entry_json(reply), event_json);
  if (!r) co_return step::abandoned;
  switch (*r) {
    case complete_status::stored_released:
      co_return step::released;
    case complete_status::stored:
    case complete_status::not_next:
      co_return step::next;
    case complete_status::lease_lost:
      co_return step::lease_lost;
    case complete_status::session_gone:
      metrics_.turn(turn_result::session_gone);
      spdlog::info("session of message {} expired before its reply was stored", reply.reply_to);
      co_return step::next;
  }
  co_return step::abandoned;
}

net::awaitable<session_runner::step> session_runner::dead_letter(session_context& ctx, long long seq,
                                                                 const std::string& message_id,
                                                                 const std::string& error, int attempts) {
  spdlog::error("message {} (seq {}) failed {} time(s), last error: {}; moved to {}", message_id, seq, attempts, error,
                keys::deadletter_stream);
  auto dl = co_await queue_.dead_letter(ctx.entry, seq, message_id, error, attempts);
  if (!dl) co_return step::abandoned;
  bot_reply reply;
  reply.id = *dl;  // a stream id, like every message id
  reply.reply_to = message_id;
  reply.seq = seq;
  reply.timestamp = now_iso8601();
  reply.error = std::string(generation_failed);
  auto stored = co_await store_reply(ctx, seq, reply, error_event(reply, generation_failed, generation_failed_text));
  if (stored == step::next || stored == step::released) metrics_.turn(turn_result::dead_lettered);
  co_return stored;
}

}  // namespace parley::worker
