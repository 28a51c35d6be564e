// The openai backend against a real OpenAI-compatible server: llama.cpp's llama-server serving
// the tiny test model on loopback. Streaming, usage, stop and concurrent requests.
#include "llama_server.hpp"

#include <parley/http/testing/run.hpp>
#include <parley/worker/remote/openai_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace remote_test {
namespace {

using namespace std::chrono_literals;
namespace pr = parley::worker::remote;
namespace pw = parley::worker;
namespace net = boost::asio;
using parley::http::testing::run_with_deadline;

class openai_with_llama_server : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!llama_server_available()) return;
    dir_ = new pt::temp_dir();
    server_ = new llama_server(dir_->path(), PARLEY_TINY_TEXT_MODEL, 4);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!server_) GTEST_SKIP() << "llama-server is not built (scripts/build-llama.sh llama-server)";
  }
  void TearDown() override {
    if (HasFailure() && server_) std::cerr << "---- llama-server log ----\n" << server_->log_text() << "\n";
  }

  static std::unique_ptr<pr::openai_backend> backend(std::size_t max_in_flight = 4) {
    pr::openai_config cfg;
    cfg.base_url = server_->base_url();
    cfg.api_key = "sk-not-checked-by-llama-server";
    cfg.max_in_flight = max_in_flight;
    cfg.context_tokens = 512;
    cfg.send_top_k = true;
    cfg.http.read_timeout = 30s;
    std::string why;
    auto b = pr::openai_backend::create(cfg, &why);
    EXPECT_TRUE(b) << why;
    return std::move(*b);
  }

  static pw::generation_request request(int max_new_tokens) {
    pw::generation_request req;
    req.session = "s1";
    req.message_id = "m1";
    req.system_prompt = "You are a test.";
    req.history = {{pw::chat_turn::role::user, "Hello there"}};
    req.sampling.max_new_tokens = max_new_tokens;
    req.sampling.temperature = 0.8f;
    req.sampling.seed = 42;
    return req;
  }

  static pt::temp_dir* dir_;
  static llama_server* server_;
};
pt::temp_dir* openai_with_llama_server::dir_ = nullptr;
llama_server* openai_with_llama_server::server_ = nullptr;

TEST_F(openai_with_llama_server, streams_a_reply_delta_by_delta_with_usage) {
  auto b = backend();
  std::vector<std::string> deltas;
  auto r = run_with_deadline(
      b->generate(request(24), [&](std::string_view d) { deltas.emplace_back(d); }, {}), 120s);
  ASSERT_TRUE(r) << r.error().message();
  std::string joined;
  for (auto& d : deltas) joined += d;
  EXPECT_EQ(r->text, joined);
  EXPECT_GT(deltas.size(), 1u) << "the reply arrived as a stream, not in one piece";
  EXPECT_NE(r->reason, pw::finish_reason::cancelled);
  EXPECT_GT(r->prompt_tokens, 0);
  EXPECT_GT(r->generated_tokens, 0);
  EXPECT_LE(r->generated_tokens, 24);
}

TEST_F(openai_with_llama_server, stop_closes_the_request_and_the_server_keeps_serving) {
  auto b = backend();
  std::stop_source stop;
  std::thread stopper;
  std::vector<std::string> deltas;
  auto r = run_with_deadline(b->generate(request(400),
                                         [&](std::string_view d) {
                                           deltas.emplace_back(d);
                                           if (deltas.size() == 2) stopper = std::thread([&] { stop.request_stop(); });
                                         },
                                         stop.get_token()),
                             120s);
  if (stopper.joinable()) stopper.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->reason, pw::finish_reason::cancelled);
  EXPECT_GE(deltas.size(), 2u);
  EXPECT_LT(deltas.size(), 400u);

  // The server freed the slot: a new request is answered, with its own short reply.
  auto next = run_with_deadline(b->generate(request(8), [](std::string_view) {}, {}), 120s);
  ASSERT_TRUE(next) << next.error().message();
  EXPECT_NE(next->reason, pw::finish_reason::cancelled);
}

TEST_F(openai_with_llama_server, concurrent_requests_are_all_answered_within_the_bound) {
  auto b = backend(2);
  auto ok = run_with_deadline([&]() -> net::awaitable<int> {
    auto ex = co_await net::this_coro::executor;
    int done = 0;
    int succeeded = 0;
    for (int i = 0; i < 4; ++i)
      net::co_spawn(ex, [&, i]() -> net::awaitable<void> {
        auto req = request(12);
        req.session = "s" + std::to_string(i);
        auto r = co_await b->generate(req, [](std::string_view) {}, {});
        if (r && !r->text.empty()) ++succeeded;
        ++done;
      }, net::detached);
    net::steady_timer t(ex);
    while (done < 4) {
      t.expires_after(20ms);
      co_await t.async_wait(net::use_awaitable);
    }
    co_return succeeded;
  }(), 180s);
  EXPECT_EQ(ok, 4);
  std::string metrics;
  b->write_metrics(metrics);
  EXPECT_NE(metrics.find("parley_openai_completions_total 4"), std::string::npos) << metrics;
}

}  // namespace
}  // namespace remote_test
