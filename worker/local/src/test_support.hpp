#pragma once
// Shared by the backend's tests: model paths, a run-with-deadline helper for coroutine tests and
// a reader for the Prometheus text the backend writes.
#include <parley/worker/backend.hpp>
#include <parley/worker/local/llama_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace parley::worker::local::test {

inline constexpr const char* tiny_model = PARLEY_TINY_MODEL;
inline constexpr const char* tiny_base_model = PARLEY_TINY_BASE_MODEL;
inline constexpr const char* stories_model = PARLEY_STORIES_MODEL;

// Generous: the machine is shared, and a deadline only guards against a hang.
inline constexpr auto test_deadline = std::chrono::seconds(120);

inline llama_config tiny_config(const char* model = tiny_model) {
  llama_config c;
  c.model_path = model;
  c.n_ctx = 512;
  c.n_parallel = 2;
  c.n_batch = 256;
  c.prefill_chunk = 64;
  c.threads = 1;  // ggml threads spin at barriers: on a busy shared machine one is far faster
  c.reply_budget = 128;
  return c;
}

inline std::unique_ptr<llama_backend> load_or_fail(const llama_config& c) {
  auto b = llama_backend::load(c);
  EXPECT_TRUE(b.has_value()) << (b ? "" : b.error().message());
  return b ? std::move(*b) : nullptr;
}

inline generation_request make_request(std::string session, std::vector<chat_turn> history,
                                       int max_new_tokens = 24, std::uint32_t seed = 1234) {
  generation_request r;
  r.session = std::move(session);
  r.message_id = "m";
  r.system_prompt = "You are a test.";
  r.history = std::move(history);
  r.sampling.max_new_tokens = max_new_tokens;
  r.sampling.seed = seed;
  return r;
}

inline chat_turn user(std::string text) { return {chat_turn::role::user, std::move(text)}; }
inline chat_turn bot(std::string text) { return {chat_turn::role::assistant, std::move(text)}; }

struct generation {
  boost::system::result<generation_result> outcome{generation_result{}};
  std::vector<std::string> deltas;
};

// Runs one generate() on a fresh io_context with a deadline.
inline generation run_one(backend& b, generation_request req, std::stop_source stop = {},
                          std::function<void(std::string_view)> extra = {}) {
  boost::asio::io_context io;
  generation g;
  bool finished = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        g.outcome = co_await b.generate(
            std::move(req),
            [&](std::string_view d) {
              g.deltas.emplace_back(d);
              if (extra) extra(d);
            },
            stop.get_token());
        finished = true;
      },
      boost::asio::detached);
  io.run_for(test_deadline);
  EXPECT_TRUE(finished) << "generation did not finish before the deadline";
  return g;
}

// The value of an unlabelled metric line `name value`.
inline double metric(const backend& b, std::string_view name) {
  std::string text;
  b.write_metrics(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ') {
      return std::stod(line.substr(name.size() + 1));
    }
  }
  ADD_FAILURE() << "metric " << name << " not found";
  return -1;
}

inline bool have_stories() { return std::filesystem::exists(stories_model); }

}  // namespace parley::worker::local::test
