#include <parley/worker/local/llama_backend.hpp>
#include <parley/worker/local/llama_errors.hpp>

#include "reply_text.hpp"
#include "test_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace parley::worker::local {
namespace {

using test::bot;
using test::make_request;
using test::metric;
using test::run_one;
using test::user;

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

bool valid_utf8(const std::string& s) {
  std::string copy;
  return append_valid_utf8(s, copy) == 0 && copy == s;
}

TEST(llama_backend, streams_a_reply_as_valid_utf8_deltas) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  EXPECT_EQ(b->name(), "local");
  EXPECT_TRUE(b->uses_chat_template());
  auto req = make_request("s1", {user("Hello Bot")}, 48);
  req.sampling.temperature = 1.5f;  // wide sampling reaches byte-fallback tokens
  auto g = run_one(*b, std::move(req));
  ASSERT_TRUE(g.outcome) << g.outcome.error().message();
  EXPECT_GT(g.outcome->generated_tokens, 0);
  EXPECT_LE(g.outcome->generated_tokens, 48);
  EXPECT_GT(g.outcome->prompt_tokens, 0);
  EXPECT_EQ(g.outcome->cached_tokens, 0);
  EXPECT_EQ(join(g.deltas), g.outcome->text);
  for (const auto& d : g.deltas) {
    EXPECT_FALSE(d.empty());
    EXPECT_TRUE(valid_utf8(d)) << d;
  }
  EXPECT_EQ(metric(*b, "parley_llama_generated_tokens_total"), g.outcome->generated_tokens);
  EXPECT_EQ(metric(*b, "parley_llama_prompt_tokens_total"), g.outcome->prompt_tokens);
  EXPECT_EQ(metric(*b, "parley_llama_active_sequences"), 0);
}

TEST(llama_backend, many_random_tokens_still_give_valid_utf8) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  for (std::uint32_t seed = 1; seed <= 2; ++seed) {
    auto req = make_request("s" + std::to_string(seed), {user("bytes please")}, 80, seed);
    req.sampling.temperature = 3.0f;
    req.sampling.top_k = 0;
    req.sampling.top_p = 1.0f;
    auto g = run_one(*b, std::move(req));
    ASSERT_TRUE(g.outcome);
    for (const auto& d : g.deltas) EXPECT_TRUE(valid_utf8(d)) << d;
    EXPECT_TRUE(valid_utf8(g.outcome->text));
  }
}

TEST(llama_backend, same_seed_same_text) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  auto a = run_one(*b, make_request("a", {user("repeat")}, 32, 99));
  auto c = run_one(*b, make_request("c", {user("repeat")}, 32, 99));
  ASSERT_TRUE(a.outcome && c.outcome);
  EXPECT_EQ(a.outcome->text, c.outcome->text);
  EXPECT_EQ(a.outcome->generated_tokens, c.outcome->generated_tokens);
}

TEST(llama_backend, two_concurrent_requests_are_decoded_in_the_same_batch) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  boost::asio::io_context io;
  std::vector<boost::system::result<generation_result>> results(2, generation_result{});
  int finished = 0;
  for (int i = 0; i < 2; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          auto req = make_request("session-" + std::to_string(i), {user("talk to me")}, 64, 5 + i);
          req.sampling.temperature = 0.0f;
          results[i] = co_await b->generate(std::move(req), [](std::string_view) {}, {});
          ++finished;
        },
        boost::asio::detached);
  }
  io.run_for(test::test_deadline);
  ASSERT_EQ(finished, 2);
  ASSERT_TRUE(results[0] && results[1]);
  EXPECT_GE(metric(*b, "parley_llama_batch_sequences_max"), 2);
  // Fewer decode calls than two sequential generations would need.
  const double sequential_steps = results[0]->generated_tokens + results[1]->generated_tokens;
  EXPECT_LT(metric(*b, "parley_llama_decode_calls_total"), sequential_steps);
}

boost::asio::awaitable<void> generate_into(backend& b, generation_request req,
                                           std::optional<generation_result>& out,
                                           delta_handler on_delta = {}) {
  auto r = co_await b.generate(std::move(req), std::move(on_delta), {});
  if (r) out = *r;
}

TEST(llama_backend, a_new_session_starts_while_another_is_mid_reply) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  boost::asio::io_context io;
  std::optional<generation_result> first;
  std::optional<generation_result> second;
  bool started_second = false;
  auto req = make_request("long", {user("go on")}, 120);
  req.sampling.temperature = 0.0f;
  // The second request is submitted from the first reply's delta handler, so it is admitted
  // between decode steps of a running reply.
  delta_handler start_second = [&](std::string_view) {
    if (std::exchange(started_second, true)) return;
    boost::asio::co_spawn(io, generate_into(*b, make_request("short", {user("hi")}, 8), second),
                          boost::asio::detached);
  };
  boost::asio::co_spawn(io, generate_into(*b, std::move(req), first, start_second),
                        boost::asio::detached);
  io.run_for(test::test_deadline);
  ASSERT_TRUE(first && second);
  EXPECT_GT(metric(*b, "parley_llama_requests_total"), 1);
  if (first->generated_tokens >= 60) {
    EXPECT_GE(metric(*b, "parley_llama_batch_sequences_max"), 2);
  }
}

TEST(llama_backend, second_turn_prefills_only_the_new_tokens) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  auto t1 = run_one(*b, make_request("chat", {user("first question")}, 16));
  ASSERT_TRUE(t1.outcome);
  const double prefilled_before = metric(*b, "parley_llama_prompt_tokens_total");
  const double hits_before = metric(*b, "parley_llama_cache_hit_tokens_total");

  auto t2 = run_one(*b, make_request("chat", {user("first question"), bot(t1.outcome->text),
                                              user("second question")}, 16));
  ASSERT_TRUE(t2.outcome);
  const auto& r2 = *t2.outcome;
  EXPECT_GE(r2.cached_tokens, t1.outcome->prompt_tokens - 1);
  EXPECT_LT(r2.cached_tokens, r2.prompt_tokens);
  EXPECT_EQ(metric(*b, "parley_llama_prompt_tokens_total") - prefilled_before,
            r2.prompt_tokens - r2.cached_tokens);
  EXPECT_EQ(metric(*b, "parley_llama_cache_hit_tokens_total") - hits_before, r2.cached_tokens);
}

TEST(llama_backend, reuse_off_prefills_everything) {
  auto config = test::tiny_config();
  config.kv_reuse = false;
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  auto t1 = run_one(*b, make_request("chat", {user("first question")}, 8));
  ASSERT_TRUE(t1.outcome);
  auto t2 = run_one(*b, make_request("chat", {user("first question"), bot(t1.outcome->text),
                                              user("second question")}, 8));
  ASSERT_TRUE(t2.outcome);
  EXPECT_EQ(t2.outcome->cached_tokens, 0);
  EXPECT_EQ(metric(*b, "parley_llama_cache_hit_tokens_total"), 0);
}

TEST(llama_backend, stop_ends_the_reply_within_one_decode_step) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  std::stop_source stop;
  double generated_at_stop = -1;
  auto req = make_request("stopme", {user("say a lot")}, 200);
  req.sampling.temperature = 0.0f;
  auto g = run_one(*b, std::move(req), stop, [&](std::string_view) {
    if (stop.stop_requested()) return;
    stop.request_stop();
    generated_at_stop = metric(*b, "parley_llama_generated_tokens_total");
  });
  ASSERT_TRUE(g.outcome);
  EXPECT_EQ(g.outcome->reason, finish_reason::cancelled);
  EXPECT_FALSE(g.outcome->text.empty());
  EXPECT_EQ(join(g.deltas), g.outcome->text);
  ASSERT_GE(generated_at_stop, 1);
  // The step running when stop was requested may finish; no further one starts.
  EXPECT_LE(g.outcome->generated_tokens - generated_at_stop, 1);
  EXPECT_EQ(metric(*b, "parley_llama_active_sequences"), 0);
}

TEST(llama_backend, stop_before_start_returns_cancelled_with_no_text) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  std::stop_source stop;
  stop.request_stop();
  auto g = run_one(*b, make_request("early", {user("hi")}, 50), stop);
  ASSERT_TRUE(g.outcome);
  EXPECT_EQ(g.outcome->reason, finish_reason::cancelled);
  EXPECT_LE(g.outcome->generated_tokens, 1);
}

// Generates into `out`, then records whether `other` had finished by then.
boost::asio::awaitable<void> generate_observing(backend& b, generation_request req,
                                                std::stop_token stop,
                                                std::optional<generation_result>& out,
                                                const std::optional<generation_result>& other,
                                                bool& other_done) {
  auto r = co_await b.generate(std::move(req), {}, std::move(stop));
  if (r) out = *r;
  other_done = other.has_value();
}

TEST(llama_backend, a_queued_request_stops_at_once_while_every_slot_is_busy) {
  auto config = test::tiny_config();
  config.n_parallel = 1;
  // The running reply cannot end early: it holds the only slot for all its 200 tokens.
  config.ignore_eos = true;
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  boost::asio::io_context io;
  std::optional<generation_result> running;
  std::optional<generation_result> queued;
  bool running_done_when_queued_ended = true;
  std::stop_source stop_queued;
  int deltas = 0;
  auto long_req = make_request("busy", {user("keep going")}, 200);
  long_req.sampling.temperature = 0.0f;
  delta_handler on_delta = [&](std::string_view) {
    if (++deltas == 1) {
      boost::asio::co_spawn(io,
                            generate_observing(*b, make_request("waiting", {user("me too")}, 8),
                                               stop_queued.get_token(), queued, running,
                                               running_done_when_queued_ended),
                            boost::asio::detached);
    } else if (deltas == 2) {
      stop_queued.request_stop();
    }
  };
  boost::asio::co_spawn(io, generate_into(*b, std::move(long_req), running, on_delta),
                        boost::asio::detached);
  io.run_for(test::test_deadline);
  ASSERT_TRUE(running && queued);
  EXPECT_EQ(running->reason, finish_reason::length);
  EXPECT_EQ(running->generated_tokens, 200);
  EXPECT_EQ(queued->reason, finish_reason::cancelled);
  EXPECT_EQ(queued->generated_tokens, 0);
  EXPECT_FALSE(running_done_when_queued_ended);
}

TEST(llama_backend, destroying_the_backend_fails_a_running_request_with_shutting_down) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  boost::asio::io_context io;
  std::optional<boost::system::result<generation_result>> outcome;
  auto req = make_request("doomed", {user("talk")}, 200);
  req.sampling.temperature = 0.0f;
  auto* raw = b.get();
  delta_handler on_delta = [&](std::string_view) { b.reset(); };
  boost::asio::co_spawn(
      io,
      [&, req = std::move(req)]() mutable -> boost::asio::awaitable<void> {
        outcome = co_await raw->generate(std::move(req), on_delta, {});
      },
      boost::asio::detached);
  io.run_for(test::test_deadline);
  ASSERT_TRUE(outcome.has_value());
  ASSERT_FALSE(*outcome);
  EXPECT_EQ(outcome->error(), make_error_code(llama_errc::shutting_down));
}

TEST(llama_backend, max_new_tokens_ends_with_length) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  auto req = make_request("len", {user("hi")}, 5);
  req.sampling.temperature = 0.0f;
  auto g = run_one(*b, std::move(req));
  ASSERT_TRUE(g.outcome);
  if (g.outcome->reason == finish_reason::length) {
    EXPECT_EQ(g.outcome->generated_tokens, 5);
  }
  EXPECT_LE(g.outcome->generated_tokens, 5);
}

// On a backend of two slots: A's first turn, then B and C, so that C takes A's slot.
test::generation answer_a_then_evict_it(llama_backend& b) {
  auto a1 = run_one(b, make_request("A", {user("my name is Ann")}, 12, 7));
  EXPECT_TRUE(run_one(b, make_request("B", {user("I am B")}, 12, 8)).outcome);
  EXPECT_TRUE(run_one(b, make_request("C", {user("I am C")}, 12, 9)).outcome);
  EXPECT_EQ(metric(b, "parley_llama_evictions_total"), 1);  // C took A's slot
  return a1;
}

TEST(llama_backend, without_a_host_cache_an_evicted_session_is_reprefilled_as_a_fresh_run) {
  auto config = test::tiny_config();  // two slots
  config.host_cache_mib = 0;
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  const auto a1 = answer_a_then_evict_it(*b);
  ASSERT_TRUE(a1.outcome);

  const std::vector<chat_turn> turn2{user("my name is Ann"), bot(a1.outcome->text),
                                     user("what is my name?")};
  auto a2 = run_one(*b, make_request("A", turn2, 24, 11));
  ASSERT_TRUE(a2.outcome);
  EXPECT_EQ(a2.outcome->cached_tokens, 0);

  auto fresh = test::load_or_fail(config);
  ASSERT_TRUE(fresh);
  auto f2 = run_one(*fresh, make_request("A", turn2, 24, 11));
  ASSERT_TRUE(f2.outcome);
  EXPECT_EQ(a2.outcome->text, f2.outcome->text);
  EXPECT_EQ(a2.outcome->generated_tokens, f2.outcome->generated_tokens);
}

TEST(llama_backend, an_evicted_session_is_restored_from_host_memory_as_if_never_evicted) {
  const auto config = test::tiny_config();  // two slots, host cache on
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  const auto a1 = answer_a_then_evict_it(*b);
  ASSERT_TRUE(a1.outcome);
  EXPECT_EQ(metric(*b, "parley_llama_host_cache_saved_total"), 1);
  EXPECT_EQ(metric(*b, "parley_llama_host_cache_sessions"), 1);
  EXPECT_GT(metric(*b, "parley_llama_host_cache_bytes"), 0);

  const std::vector<chat_turn> turn2{user("my name is Ann"), bot(a1.outcome->text),
                                     user("what is my name?")};
  auto a2 = run_one(*b, make_request("A", turn2, 24, 11));
  ASSERT_TRUE(a2.outcome);
  EXPECT_GE(a2.outcome->cached_tokens, a1.outcome->prompt_tokens - 1);
  EXPECT_EQ(metric(*b, "parley_llama_host_cache_hits_total"), 1);
  EXPECT_EQ(metric(*b, "parley_llama_host_cache_restore_failures_total"), 0);
  // A's state went back into a slot, B's (evicted for A) came in.
  EXPECT_EQ(metric(*b, "parley_llama_host_cache_sessions"), 1);

  auto kept = test::load_or_fail(config);
  ASSERT_TRUE(kept);
  auto k1 = run_one(*kept, make_request("A", {user("my name is Ann")}, 12, 7));
  ASSERT_TRUE(k1.outcome);
  ASSERT_EQ(k1.outcome->text, a1.outcome->text);
  auto k2 = run_one(*kept, make_request("A", turn2, 24, 11));
  ASSERT_TRUE(k2.outcome);
  EXPECT_EQ(k2.outcome->cached_tokens, a2.outcome->cached_tokens);
  EXPECT_EQ(a2.outcome->text, k2.outcome->text);
  EXPECT_EQ(metric(*kept, "parley_llama_evictions_total"), 0);
}

TEST(llama_backend, trims_a_long_history_to_the_context_budget) {
  auto config = test::tiny_config();
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  std::vector<chat_turn> history;
  for (int i = 0; i < 60; ++i) {
    history.push_back(user("message " + std::to_string(i) + " with some words in it"));
    history.push_back(bot("reply " + std::to_string(i) + " with some other words"));
  }
  history.push_back(user("the question"));
  auto g = run_one(*b, make_request("long", history, 8));
  ASSERT_TRUE(g.outcome) << g.outcome.error().message();
  EXPECT_LE(g.outcome->prompt_tokens, b->context_per_session() - config.reply_budget);
}

struct long_conversation {
  int cached = 0;    // prompt tokens reused, turns 2 and later
  int prompt = 0;    // prompt tokens, turns 2 and later
  int trimmed = 0;   // turns whose prompt is no longer than the one before: the oldest turns went
  double shifted = 0;
};

// Cache hits over a conversation that outgrows the prompt budget.
long_conversation run_long_conversation(int trim_turns, int shift_min_tokens) {
  auto config = test::tiny_config();
  config.trim_turns = trim_turns;
  config.shift_min_tokens = shift_min_tokens;
  // Every reply is 16 tokens, so the history outgrows the budget at the same turn whatever the
  // model's numerics (flash attention or not) make of the text.
  config.ignore_eos = true;
  long_conversation out;
  auto b = test::load_or_fail(config);
  if (!b) return out;
  std::vector<chat_turn> history;
  int previous_prompt = 0;
  for (int turn = 0; turn < 20; ++turn) {
    history.push_back(user("turn " + std::to_string(turn) + " tells a little more of the story"));
    auto g = run_one(*b, make_request("long-chat", history, 16, turn));
    EXPECT_TRUE(g.outcome);
    if (!g.outcome) return out;
    if (turn > 0) {
      out.cached += g.outcome->cached_tokens;
      out.prompt += g.outcome->prompt_tokens;
      // A prompt that did not grow by a turn lost older ones.
      out.trimmed += g.outcome->prompt_tokens <= previous_prompt;
    }
    previous_prompt = g.outcome->prompt_tokens;
    history.push_back(bot(g.outcome->text));
  }
  out.shifted = metric(*b, "parley_llama_cache_shifted_tokens_total");
  return out;
}

TEST(llama_backend, without_shifting_block_trimming_keeps_reusing_the_cache) {
  const auto by_block = run_long_conversation(4, 0);
  const auto by_turn = run_long_conversation(1, 0);
  ASSERT_GE(by_turn.trimmed, 2) << "the conversation outgrows the budget";
  EXPECT_GT(by_block.cached, by_turn.cached);
  EXPECT_EQ(by_block.shifted + by_turn.shifted, 0);
}

TEST(llama_backend, trimming_shifts_the_kept_turns_instead_of_prefilling_them_again) {
  const auto unshifted = run_long_conversation(1, 0);
  const auto shifted = run_long_conversation(1, 16);
  ASSERT_GE(shifted.trimmed, 2) << "the conversation outgrows the budget";
  EXPECT_GT(shifted.shifted, 0);
  EXPECT_GT(shifted.cached, unshifted.cached);
  // Every turn prefills little more than its new message; trimmed turns included.
  EXPECT_GT(shifted.cached, shifted.prompt * 8 / 10) << shifted.cached << " of " << shifted.prompt;
}

TEST(llama_backend, errors_are_reported_not_thrown) {
  auto b = test::load_or_fail(test::tiny_config());
  ASSERT_TRUE(b);
  auto no_user = run_one(*b, make_request("e", {bot("a")}));
  ASSERT_FALSE(no_user.outcome);
  EXPECT_EQ(no_user.outcome.error(), make_error_code(llama_errc::empty_history));
  auto too_long = run_one(*b, make_request("e", {user(std::string(20000, 'x'))}));
  ASSERT_FALSE(too_long.outcome);
  EXPECT_EQ(too_long.outcome.error(), make_error_code(llama_errc::prompt_too_long));
  EXPECT_EQ(metric(*b, "parley_llama_waiting_requests"), 0);
  // The backend still works afterwards.
  EXPECT_TRUE(run_one(*b, make_request("e", {user("fine")}, 4)).outcome);
}

TEST(llama_backend, load_errors_name_the_problem) {
  auto missing = test::tiny_config("/nonexistent/model.gguf");
  EXPECT_EQ(llama_backend::load(missing).error(), make_error_code(llama_errc::model_not_found));

  const auto junk = std::filesystem::temp_directory_path() / "parley-not-a-model.gguf";
  std::ofstream(junk) << "this is not a gguf file";
  EXPECT_EQ(llama_backend::load(test::tiny_config(junk.c_str())).error(),
            make_error_code(llama_errc::model_load_failed));
  std::filesystem::remove(junk);

  auto bad = test::tiny_config();
  bad.reply_budget = bad.n_ctx;
  EXPECT_EQ(llama_backend::load(bad).error(), make_error_code(llama_errc::invalid_config));
  bad = test::tiny_config();
  bad.n_batch = 1;
  EXPECT_EQ(llama_backend::load(bad).error(), make_error_code(llama_errc::invalid_config));
  bad = test::tiny_config();
  bad.chat_template = "jinja";
  EXPECT_EQ(llama_backend::load(bad).error(), make_error_code(llama_errc::invalid_config));
}

TEST(llama_backend, stories_model_speaks_in_the_transcript_form) {
  if (!test::have_stories()) GTEST_SKIP() << test::stories_model << " not present";
  auto config = test::tiny_config(test::stories_model);
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->uses_chat_template());
  auto req = make_request("story", {user("Once upon a time")}, 60, 3);
  req.system_prompt.clear();
  req.sampling.temperature = 0.0f;
  auto g = run_one(*b, std::move(req));
  ASSERT_TRUE(g.outcome);
  const auto& text = g.outcome->text;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.find("Human:"), std::string::npos);
  EXPECT_NE(text.find_first_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos) << text;
  EXPECT_EQ(join(g.deltas), text);
}

TEST(llama_backend, stories_model_reuses_the_cache_across_turns) {
  if (!test::have_stories()) GTEST_SKIP() << test::stories_model << " not present";
  auto config = test::tiny_config(test::stories_model);
  auto b = test::load_or_fail(config);
  ASSERT_TRUE(b);
  auto t1 = run_one(*b, make_request("s", {user("Tell me about a cat.")}, 30, 1));
  ASSERT_TRUE(t1.outcome);
  auto t2 = run_one(*b, make_request("s", {user("Tell me about a cat."), bot(t1.outcome->text),
                                           user("And a dog?")}, 30, 2));
  ASSERT_TRUE(t2.outcome);
  EXPECT_GE(t2.outcome->cached_tokens, t1.outcome->prompt_tokens - 1);
}

}  // namespace
}  // namespace parley::worker::local
