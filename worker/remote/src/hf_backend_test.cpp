#include <parley/worker/remote/hf_backend.hpp>

#include <parley/http/testing/local_server.hpp>
#include <parley/http/testing/run.hpp>
#include <parley/worker/remote/errors.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace parley::worker::remote {
namespace {

using namespace std::chrono_literals;
using http::testing::exchange;
using http::testing::http_response;
using http::testing::local_server;
using http::testing::run_with_deadline;
namespace json = boost::json;

hf_config test_config(const local_server& server) {
  hf_config cfg;
  cfg.model_url = server.base_url() + "/models/EleutherAI/gpt-j-6B";
  cfg.token = "hf_secret";
  cfg.retry.max_attempts = 3;
  cfg.retry.initial_backoff = 20ms;
  cfg.retry.max_backoff = 50ms;
  cfg.max_loading_wait = 2s;
  return cfg;
}

generation_request seed_request() {
  generation_request req;
  req.message_id = "m1";
  req.history = {{chat_turn::role::user, "Hello Bot"}, {chat_turn::role::assistant, "Hi there"},
                 {chat_turn::role::user, "How are you?"}};
  req.sampling.max_new_tokens = 25;
  return req;
}

struct run_output {
  boost::system::result<generation_result> result;
  std::vector<std::string> deltas;
};

run_output generate(const hf_config& cfg, std::stop_token stop = {}) {
  auto b = hf_backend::create(cfg).value();
  run_output out{generation_result{}, {}};
  out.result = run_with_deadline(b->generate(seed_request(), [&](std::string_view d) { out.deltas.emplace_back(d); }, stop), 20s);
  return out;
}

TEST(hf_backend, sends_the_seed_request_and_cuts_the_reply_at_the_next_human_turn) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "application/json",
                                    R"([{"generated_text":" I am fine, thanks.\nHuman: great\nBot: ok"}])"));
  });
  auto out = generate(test_config(server));
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "I am fine, thanks.");
  EXPECT_EQ(out.deltas, (std::vector<std::string>{"I am fine, thanks."}));

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target(), "/models/EleutherAI/gpt-j-6B");
  EXPECT_EQ(seen[0][boost::beast::http::field::authorization], "Bearer hf_secret");
  auto body = json::parse(seen[0].body());
  EXPECT_EQ(body, json::parse(R"({"inputs": "Human: Hello Bot\nBot: Hi there\nHuman: How are you?\nBot:",
      "parameters": {"return_full_text": false, "use_cache": false, "max_new_tokens": 25}})"));
}

TEST(hf_backend, waits_while_the_model_loads_then_answers) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    if (ex.index == 0) {
      co_await ex.write(http_response(503, "application/json",
                                      R"({"error":"Model EleutherAI/gpt-j-6B is currently loading","estimated_time":0.3})"));
    } else {
      co_await ex.write(http_response(200, "application/json", R"([{"generated_text":"Ready."}])"));
    }
  });
  auto started = std::chrono::steady_clock::now();
  auto out = generate(test_config(server));
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "Ready.");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 280ms);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(hf_backend, model_still_loading_after_the_wait_budget_fails) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(503, "application/json", R"({"error":"loading","estimated_time":0.4})"));
  });
  auto cfg = test_config(server);
  cfg.max_loading_wait = 700ms;
  auto out = generate(cfg);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::model_loading);
  EXPECT_EQ(server.requests().size(), 3u);  // waits 400 ms, then the 300 ms left, then gives up
}

TEST(hf_backend, error_json_is_a_clear_error) {
  local_server rejected([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(400, "application/json", R"({"error":"Input validation error: inputs too long"})"));
  });
  auto out = generate(test_config(rejected));
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::upstream_rejected);
  EXPECT_EQ(rejected.requests().size(), 1u);

  local_server error_body([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "application/json", R"({"error":"something went wrong"})"));
  });
  auto out2 = generate(test_config(error_body));
  ASSERT_FALSE(out2.result);
  EXPECT_EQ(out2.result.error(), errc::upstream_error);
}

TEST(hf_backend, unexpected_shape_is_malformed) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "application/json", R"([{"text":"no"}])"));
  });
  auto out = generate(test_config(server));
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::malformed_response);
}

TEST(hf_backend, server_errors_are_retried_with_backoff) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    if (ex.index < 2) {
      co_await ex.write(http_response(502, "text/html", "<html>bad gateway</html>"));
    } else {
      co_await ex.write(http_response(200, "application/json", R"([{"generated_text":"Third time lucky"}])"));
    }
  });
  auto out = generate(test_config(server));
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "Third time lucky");
  EXPECT_EQ(server.requests().size(), 3u);
}

TEST(hf_backend, stop_while_waiting_for_the_model_returns_cancelled) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(503, "application/json", R"({"error":"loading","estimated_time":30})"));
  });
  auto cfg = test_config(server);
  cfg.max_loading_wait = 60s;
  std::stop_source stop;
  // Stops once the backend has asked and been told that the model is loading.
  std::thread stopper([&] {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (server.requests().empty() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(10ms);
    }
    stop.request_stop();
  });
  auto started = std::chrono::steady_clock::now();
  auto out = generate(cfg, stop.get_token());
  stopper.join();
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, finish_reason::cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

}  // namespace
}  // namespace parley::worker::remote
