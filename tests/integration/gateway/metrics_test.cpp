// GET /metrics of the real gateway on its own port: counters move with what clients did, gauges
// show the live state, and the endpoint is not on the public port.
#include "fixture.hpp"

namespace gw_test {
namespace {

class GatewayMetrics : public GatewayTest {
 protected:
  void SetUp() override { start(with_metrics()); }
};

TEST_F(GatewayMetrics, AnswersAsTheGateway) {
  auto r = pt::http_request({.port = metrics_port_, .target = "/metrics"});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("Server"), "parley-gateway");
}

TEST_F(GatewayMetrics, CountsSessionsSocketsMessagesAndErrorsByCode) {
  const auto before = scrape();
  EXPECT_EQ(sample(before, "parley_gateway_sessions_created_total"), 0);
  EXPECT_EQ(sample(before, "parley_gateway_redis_connected"), 1);

  auto token = new_session();
  ASSERT_EQ(get("/nowhere-" + token).status, 404);
  auto ws = connect(token);
  ASSERT_TRUE(ws->send_text(R"({"type":"message","text":"hello","client_id":"c1"})"));
  ws->read_json_type("ack", 5s);
  ASSERT_TRUE(ws->send_text(R"({"type":"message","text":"hello","client_id":"c1"})"));
  ws->read_json_type("ack", 5s);
  ASSERT_TRUE(ws->send_text(R"({"type":"message","text":"   "})"));
  EXPECT_EQ(ws->read_json_type("error", 5s)["code"], "empty_message");
  ASSERT_TRUE(ws->send_text(R"({"type":"message","text":"hi","colour":"red"})"));
  EXPECT_EQ(ws->read_json_type("error", 5s)["code"], "bad_frame");

  const auto page = scrape();
  EXPECT_EQ(sample(page, "parley_gateway_sessions_created_total"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_websockets_opened_total"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_websockets_open"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_messages_total", R"(result="new")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_messages_total", R"(result="duplicate")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_error_frames_total", R"(code="empty_message")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_error_frames_total", R"(code="bad_frame")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_error_frames_total", R"(code="busy")"), 0);
  EXPECT_GE(sample(page, "parley_gateway_request_queue_depth"), 0);
  // POST /token (200), the 404 and the upgrade (101); scrapes are served by the metrics
  // endpoint and are not among the gateway's responses.
  EXPECT_GE(sample(page, "parley_gateway_http_responses_total", R"(code="2xx")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_http_responses_total", R"(code="4xx")"), 1);
  EXPECT_EQ(sample(page, "parley_gateway_http_responses_total", R"(code="1xx")"), 1);

  ws->close();
  ASSERT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_websockets_open") == 0; }, 5s));
}

TEST_F(GatewayMetrics, RedisOutageShowsInTheGauge) {
  redis().stop();
  EXPECT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_redis_connected") == 0; }, 10s));
  redis().start();
  EXPECT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_redis_connected") == 1; }, 10s));
}

TEST_F(GatewayMetrics, TheEndpointIsNotOnThePublicPort) {
  EXPECT_EQ(get("/metrics").status, 404);
}

TEST(GatewayMetricsConfig, SamePortForMetricsAndApiIsAClearError) {
  pt::temp_dir dir;
  const auto port = std::to_string(pt::free_port());
  pt::process p({.argv = {pt::gateway_binary(), "--port", port, "--metrics-port", port},
                 .log_path = dir.path() / "gateway.log"});
  auto status = p.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 2) << p.log_text();
  EXPECT_NE(p.log_text().find("--metrics-port must differ from --port"), std::string::npos) << p.log_text();
}

}  // namespace
}  // namespace gw_test
