#include <parley/worker/remote/openai_backend.hpp>

#include <parley/http/testing/local_server.hpp>
#include <parley/http/testing/run.hpp>
#include <parley/worker/remote/errors.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <sstream>
#include <thread>

namespace parley::worker::remote {
namespace {

using namespace std::chrono_literals;
using http::testing::chunk;
using http::testing::chunked_header;
using http::testing::exchange;
using http::testing::http_response;
using http::testing::last_chunk;
using http::testing::local_server;
using http::testing::run_with_deadline;
namespace json = boost::json;
using gen_result = boost::system::result<generation_result>;

std::string delta_event(std::string_view content) {
  json::object o{{"choices", json::array{json::object{{"index", 0}, {"delta", {{"content", content}}}, {"finish_reason", nullptr}}}}};
  return "data: " + json::serialize(o) + "\n\n";
}
std::string finish_event(std::string_view reason = "stop") {
  json::object o{{"choices", json::array{json::object{{"index", 0}, {"delta", json::object{}}, {"finish_reason", reason}}}},
                 {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 3}}}};
  return "data: " + json::serialize(o) + "\n\n";
}
const std::string done_event = "data: [DONE]\n\n";
const std::string sse_header = chunked_header(200, "text/event-stream");

// A complete streamed reply "Hello world!" in three deltas.
net::awaitable<void> good_stream(exchange& ex) {
  co_await ex.write(sse_header + chunk(": keep-alive\n\n" + delta_event("Hello")));
  co_await ex.write(chunk(delta_event(" world")) + chunk(delta_event("!") + finish_event()) + chunk(done_event) + last_chunk());
}

openai_config test_config(const local_server& server) {
  openai_config cfg;
  cfg.base_url = server.base_url();
  cfg.api_key = "sk-test-secret-key";
  cfg.model = "tiny";
  cfg.retry.max_attempts = 3;
  cfg.retry.initial_backoff = 20ms;
  cfg.retry.max_backoff = 50ms;
  cfg.http.connect_timeout = 2s;
  cfg.http.read_timeout = 3s;
  return cfg;
}

generation_request sample_request() {
  generation_request req;
  req.session = "s";
  req.message_id = "m1";
  req.system_prompt = "Be brief.";
  req.history = {{chat_turn::role::user, "Hi"}, {chat_turn::role::assistant, "Hello!"}, {chat_turn::role::user, "Say hello"}};
  req.sampling.max_new_tokens = 32;
  req.sampling.seed = 7;
  req.sampling.stop = {"\nUser:"};
  return req;
}

struct run_output {
  gen_result result;
  std::vector<std::string> deltas;
};

run_output generate(openai_backend& b, generation_request req = sample_request(), std::stop_token stop = {}) {
  run_output out{generation_result{}, {}};
  out.result = run_with_deadline(
      b.generate(std::move(req), [&](std::string_view d) { out.deltas.emplace_back(d); }, stop), 30s);
  return out;
}

std::unique_ptr<openai_backend> make(openai_config cfg) {
  std::string why;
  auto b = openai_backend::create(std::move(cfg), &why);
  EXPECT_TRUE(b) << why;
  return std::move(*b);
}

// Captures the default logger's output for the lifetime of the object.
class log_capture {
 public:
  log_capture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~log_capture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return stream_.str(); }

 private:
  std::ostringstream stream_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(openai_backend, streams_each_delta_and_sends_a_chat_completions_request) {
  local_server server(good_stream);
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "Hello world!");
  EXPECT_EQ(out.result->reason, finish_reason::stop);
  EXPECT_EQ(out.result->prompt_tokens, 12);
  EXPECT_EQ(out.result->generated_tokens, 3);
  EXPECT_EQ(out.deltas, (std::vector<std::string>{"Hello", " world", "!"}));

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method(), boost::beast::http::verb::post);
  EXPECT_EQ(seen[0].target(), "/v1/chat/completions");
  EXPECT_EQ(seen[0][boost::beast::http::field::authorization], "Bearer sk-test-secret-key");
  auto body = json::parse(seen[0].body()).as_object();
  EXPECT_EQ(body["model"], "tiny");
  EXPECT_EQ(body["stream"], true);
  EXPECT_EQ(body["max_tokens"], 32);
  EXPECT_EQ(body["seed"], 7);
  EXPECT_EQ(body["stop"], (json::array{"\nUser:"}));
  EXPECT_FALSE(body.contains("top_k"));
  auto& messages = body["messages"].as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0], (json::object{{"role", "system"}, {"content", "Be brief."}}));
  EXPECT_EQ(messages[1], (json::object{{"role", "user"}, {"content", "Hi"}}));
  EXPECT_EQ(messages[2], (json::object{{"role", "assistant"}, {"content", "Hello!"}}));
  EXPECT_EQ(messages[3], (json::object{{"role", "user"}, {"content", "Say hello"}}));
}

TEST(openai_backend, base_url_with_v1_and_no_key_sends_no_authorization) {
  local_server server(good_stream);
  auto cfg = test_config(server);
  cfg.base_url = server.base_url() + "/v1/";
  cfg.api_key.clear();
  auto b = make(cfg);
  auto out = generate(*b);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(server.requests()[0].target(), "/v1/chat/completions");
  EXPECT_EQ(server.requests()[0].count(boost::beast::http::field::authorization), 0u);
}

TEST(openai_backend, history_is_trimmed_to_the_context_budget_oldest_first) {
  local_server server(good_stream);
  auto cfg = test_config(server);
  cfg.context_tokens = 32 + 40;  // max_new_tokens + room for the system prompt and a few turns
  auto b = make(cfg);
  auto req = sample_request();
  req.history.insert(req.history.begin(), {{chat_turn::role::user, std::string(400, 'a')},
                                           {chat_turn::role::assistant, std::string(400, 'b')}});
  auto body = json::parse(b->request_body(req)).as_object();
  auto& messages = body["messages"].as_array();
  ASSERT_EQ(messages.size(), 4u);
  EXPECT_EQ(messages[0].as_object()["role"], "system");
  EXPECT_EQ(messages[1].as_object()["content"], "Hi");
  EXPECT_EQ(messages[3].as_object()["content"], "Say hello");
}

TEST(openai_backend, retries_429_after_the_retry_after_delay) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    if (ex.index == 0) {
      co_await ex.write(http_response(429, "application/json", R"({"error":{"message":"slow down"}})", "Retry-After: 1\r\n"));
    } else {
      co_await good_stream(ex);
    }
  });
  auto b = make(test_config(server));
  auto started = std::chrono::steady_clock::now();
  auto out = generate(*b);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "Hello world!");
  EXPECT_GE(std::chrono::steady_clock::now() - started, 950ms);
  EXPECT_EQ(server.requests().size(), 2u);
  std::string metrics;
  b->write_metrics(metrics);
  EXPECT_NE(metrics.find("parley_openai_retries_total 1"), std::string::npos) << metrics;
}

TEST(openai_backend, retry_after_beyond_the_limit_fails_at_once) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(429, "application/json", "{}", "Retry-After: 3600\r\n"));
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::rate_limited);
  EXPECT_EQ(server.requests().size(), 1u);
}

TEST(openai_backend, persistent_500_fails_after_max_attempts) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(500, "text/plain", "boom"));
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::upstream_unavailable);
  EXPECT_EQ(server.requests().size(), 3u);
  EXPECT_TRUE(out.deltas.empty());
}

TEST(openai_backend, rejected_request_is_not_retried_and_the_key_never_reaches_the_log) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(401, "application/json",
                                    R"({"error":{"message":"Incorrect API key provided: sk-test-secret-key"}})"));
  });
  log_capture logs;
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::upstream_rejected);
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_NE(logs.text().find("Incorrect API key provided: [redacted]"), std::string::npos) << logs.text();
  EXPECT_EQ(logs.text().find("sk-test-secret-key"), std::string::npos) << logs.text();
}

TEST(openai_backend, stream_cut_mid_reply_is_a_failed_attempt) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(delta_event("Hello")) + chunk(delta_event(" wor")));
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::broken_stream);
  EXPECT_EQ(out.deltas.size(), 2u);
  EXPECT_EQ(server.requests().size(), 1u) << "text already reached the client: no silent retry";
}

TEST(openai_backend, clean_end_without_done_or_finish_reason_is_broken) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(delta_event("Hello")) + last_chunk());
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::broken_stream);
}

TEST(openai_backend, cut_before_the_first_delta_is_retried) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    if (ex.index == 0) {
      co_await ex.write(sse_header + chunk(": keep-alive\n\n"));
    } else {
      co_await good_stream(ex);
    }
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_TRUE(out.result) << out.result.error().message();
  EXPECT_EQ(out.result->text, "Hello world!");
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(openai_backend, server_going_silent_mid_reply_hits_the_read_timeout) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(delta_event("Hello")));
    co_await ex.sleep(5s);
  });
  auto cfg = test_config(server);
  cfg.http.read_timeout = 300ms;
  auto b = make(cfg);
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), http::errc::read_timeout);
  EXPECT_EQ(out.deltas, (std::vector<std::string>{"Hello"}));
}

TEST(openai_backend, server_never_answering_is_retried_then_times_out) {
  local_server server([](exchange& ex) -> net::awaitable<void> { co_await ex.sleep(5s); });
  auto cfg = test_config(server);
  cfg.http.read_timeout = 200ms;
  cfg.retry.max_attempts = 2;
  auto b = make(cfg);
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), http::errc::read_timeout);
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(openai_backend, malformed_events_fail_the_attempt) {
  for (std::string bad : {std::string("data: {not json\n\n"), std::string("data: [1,2]\n\n"),
                          std::string(R"(data: {"choices":[{"delta":{"content":42}}]})") + "\n\n",
                          std::string(R"(data: {"choices":{"delta":{}}})") + "\n\n"}) {
    local_server server([&](exchange& ex) -> net::awaitable<void> {
      co_await ex.write(sse_header + chunk(delta_event("ok") + bad) + chunk(done_event) + last_chunk());
    });
    auto b = make(test_config(server));
    auto out = generate(*b);
    ASSERT_FALSE(out.result) << bad;
    EXPECT_EQ(out.result.error(), errc::malformed_response) << bad;
  }
}

TEST(openai_backend, error_object_in_the_stream_is_an_upstream_error) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(R"(data: {"error":{"message":"context overflow"}})" "\n\n") + last_chunk());
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_FALSE(out.result);
  EXPECT_EQ(out.result.error(), errc::upstream_error);
}

TEST(openai_backend, finish_reason_length_is_reported) {
  local_server server([](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(delta_event("abc") + finish_event("length") + done_event) + last_chunk());
  });
  auto b = make(test_config(server));
  auto out = generate(*b);
  ASSERT_TRUE(out.result);
  EXPECT_EQ(out.result->reason, finish_reason::length);
}

TEST(openai_backend, stop_closes_the_upstream_connection_at_once_and_keeps_the_partial_text) {
  std::atomic<bool> server_saw_close{false};
  local_server server([&](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(sse_header + chunk(delta_event("partial")));
    server_saw_close = co_await ex.wait_for_close(10s);
  });
  auto cfg = test_config(server);
  cfg.http.read_timeout = 30s;
  auto b = make(cfg);
  std::stop_source stop;
  std::thread stopper;
  std::vector<std::string> deltas;
  auto started = std::chrono::steady_clock::now();
  auto r = run_with_deadline(b->generate(sample_request(),
                                         [&](std::string_view d) {
                                           deltas.emplace_back(d);
                                           stopper = std::thread([&] { stop.request_stop(); });
                                         },
                                         stop.get_token()),
                             10s);
  stopper.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->reason, finish_reason::cancelled);
  EXPECT_EQ(r->text, "partial");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  for (int i = 0; i < 200 && !server_saw_close; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(server_saw_close);
}

TEST(openai_backend, requests_in_flight_are_bounded) {
  std::atomic<int> active{0};
  std::atomic<int> peak{0};
  local_server server([&](exchange& ex) -> net::awaitable<void> {
    int now = ++active;
    int prev = peak.load();
    while (now > prev && !peak.compare_exchange_weak(prev, now)) {
    }
    co_await ex.sleep(150ms);
    --active;
    co_await good_stream(ex);
  });
  auto cfg = test_config(server);
  cfg.max_in_flight = 2;
  auto b = make(cfg);
  auto results = run_with_deadline([&]() -> net::awaitable<int> {
    using namespace std::chrono_literals;
    auto ex = co_await net::this_coro::executor;
    std::atomic<int> ok{0};
    std::atomic<int> finished{0};
    for (int i = 0; i < 5; ++i)
      net::co_spawn(ex, [&]() -> net::awaitable<void> {
        auto r = co_await b->generate(sample_request(), [](std::string_view) {}, {});
        if (r) ++ok;
        ++finished;
      }, net::detached);
    net::steady_timer t(ex);
    while (finished < 5) {
      t.expires_after(10ms);
      co_await t.async_wait(net::use_awaitable);
    }
    co_return ok.load();
  }(), 20s);
  EXPECT_EQ(results, 5);
  EXPECT_EQ(peak.load(), 2);
}

TEST(openai_backend, bad_configuration_is_explained) {
  openai_config cfg;
  cfg.base_url = "localhost:8080";
  std::string why;
  auto b = openai_backend::create(cfg, &why);
  ASSERT_FALSE(b);
  EXPECT_NE(why.find("OPENAI_BASE_URL"), std::string::npos);
}

}  // namespace
}  // namespace parley::worker::remote
