// WebSocket /chat of the real gateway: handshake rules, messages, acks, every bad frame, rate
// limiting, busy, forwarding of worker events, resume, two tabs, stop, slow and idle clients.
#include "fixture.hpp"

#include <thread>

namespace gw_test {

// Runs on standalone Redis and on the shared cluster.
class Ws : public GatewayTest {
 protected:
  void SetUp() override { start_on(GetParam()); }
};

TEST_P(Ws, HandshakeRefusals) {
  auto token = new_session();
  struct refusal {
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    int status;
  };
  for (const auto& c : std::vector<refusal>{
           {"/chat", {}, 403},
           {"/chat?token=", {}, 403},
           {"/chat?token=not-a-token", {}, 403},
           {"/chat?token=123e4567-e89b-42d3-a456-426614174000", {}, 403},
           {"/chat?token=" + token, {{"Origin", "https://evil.example"}}, 403},
           {"/chat?token=" + token + "&last_event_id=banana", {}, 400},
           {"/elsewhere?token=" + token, {}, 404},
       }) {
    pt::ws_client ws;
    EXPECT_FALSE(ws.connect({.port = port(), .target = c.target, .headers = c.headers})) << c.target;
    EXPECT_EQ(ws.handshake_status(), c.status) << c.target;
  }
  for (const std::string& origin : std::vector<std::string>{"", "http://localhost:5173", "http://127.0.0.1:" + std::to_string(port())}) {
    pt::ws_client ws;
    std::vector<std::pair<std::string, std::string>> h;
    if (!origin.empty()) h.emplace_back("Origin", origin);
    EXPECT_TRUE(ws.connect({.port = port(), .target = "/chat?token=" + token, .headers = h})) << origin;
  }
}

TEST_P(Ws, PlainTextIsAcceptedStoredQueuedAndAcked) {
  auto token = new_session();
  auto ws = connect(token);
  ASSERT_TRUE(ws->send_text("Hello Bot"));
  auto ack = ws->read_json();  // the ack comes first, before the message event
  EXPECT_EQ(ack["type"], "ack");
  EXPECT_EQ(ack["duplicate"], false);
  EXPECT_EQ(ack["seq"], 1);
  const std::string id(ack["id"].as_string());
  auto ev = ws->read_json();
  EXPECT_EQ(ev["type"], "message");
  EXPECT_EQ(ev["id"], id.c_str());
  EXPECT_EQ(ev["msg"], "Hello Bot");
  EXPECT_EQ(ev["source"], "human");
  EXPECT_EQ(history_length(token), 1);
  auto req = db().command({"XRANGE", request_stream_of(token), "-", "+"});
  ASSERT_EQ(req.elements.size(), 1u);
  auto& fields = req.elements[0].elements[1].elements;
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[1].str, token);
  EXPECT_EQ(fields[3].str, "1");
  EXPECT_EQ(fields[5].str, id);
}

TEST_P(Ws, ResendWithTheSameClientIdIsAcknowledgedOnce) {
  auto token = new_session();
  auto ws = connect(token);
  const std::string frame = R"({"type":"message","text":"once","client_id":"c-42"})";
  ws->send_text(frame);
  auto first = ws->read_json_type("ack");
  EXPECT_EQ(first["client_id"], "c-42");
  ws->close();
  auto ws2 = connect(token);
  ws2->send_text(frame);
  auto second = ws2->read_json_type("ack");
  EXPECT_EQ(second["duplicate"], true);
  EXPECT_EQ(second["id"], first["id"]);
  EXPECT_EQ(history_length(token), 1);
  // The turn is still unanswered, so the resend queues the request again for the workers.
  EXPECT_EQ(requests_length(), 2);
}

TEST_P(Ws, BadFramesGetErrorFramesAndTheConnectionStaysOpen) {
  auto token = new_session();
  auto ws = connect(token);
  struct bad {
    std::string frame;
    std::string code;
    std::string field;
  };
  for (const auto& c : std::vector<bad>{
           {R"({"type":"message"})", "bad_frame", "text"},
           {R"({"type":"message","text":5})", "bad_frame", "text"},
           {R"({"type":"message","text":"x","mood":"happy"})", "bad_frame", "mood"},
           {R"({"type":"message","text":"x","client_id":7})", "bad_frame", "client_id"},
           {R"({"text":"x"})", "bad_frame", "type"},
           {R"({"type":["message"]})", "bad_frame", "type"},
           {R"({"type":"dance"})", "unknown_type", "type"},
           {R"({"type":"stop"})", "bad_frame", "message_id"},
           {R"({"type":"message","text":""})", "empty_message", "text"},
           {R"({"type":"message","text":"   "})", "empty_message", "text"},
           {"\t", "empty_message", "text"},
           {R"({"type":"message","text":"bell\u0007"})", "invalid_text", "text"},
           {R"({"type":"message","text":"carriage\rreturn"})", "invalid_text", "text"},
           {R"({"type":"stop","message_id":"not-an-id"})", "bad_frame", "message_id"},
           {R"({"type":"message","text":"x","":1})", "bad_frame", ""},
           // Broken protocol frames are errors without a field, never chat text: sent twice each,
           // with a client_id the gateway cannot read, nothing may be stored.
           {R"({"type":"message","text":"x","client_id":"k1",})", "bad_frame", "-"},
           {R"({"type":"message","text":"x","client_id":"k1",})", "bad_frame", "-"},
           {R"({"type":"message","text":"\ud800","client_id":"k2"})", "bad_frame", "-"},
           {R"({"type": )", "bad_frame", "-"},
       }) {
    ASSERT_TRUE(ws->send_text(c.frame));
    auto e = ws->read_json();
    EXPECT_EQ(e["type"], "error") << c.frame;
    EXPECT_EQ(e["code"], c.code.c_str()) << c.frame;
    if (c.field == "-")
      EXPECT_FALSE(e.contains("field")) << c.frame;
    else
      EXPECT_EQ(e["field"], c.field.c_str()) << c.frame;
    EXPECT_TRUE(e["message"].is_string());
  }
  ws->send_binary("\x01\x02");
  EXPECT_EQ(ws->read_json()["code"], "binary_not_supported");
  ws->send_text(R"({"type":"ping"})");
  EXPECT_EQ(ws->read_json()["type"], "pong");
  EXPECT_EQ(history_length(token), 0);
}

TEST_P(Ws, OversizedFrameCloses1009) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text(std::string(64 * 1024 + 1, 'a'));
  auto closed = ws->wait_closed(5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->close_code, 1009);
  EXPECT_EQ(get("/test").status, 200);
}

TEST_P(Ws, InvalidUtf8Closes1007) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text("bad \xC3\x28 utf8");
  auto closed = ws->wait_closed(5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->close_code, 1007);
  EXPECT_EQ(history_length(token), 0);
}

TEST_P(Ws, ForwardsWorkerEventsToEveryTabInOrder) {
  auto token = new_session();
  auto a = connect(token);
  auto b = connect(token);
  a->send_text(R"({"type":"message","text":"hi","client_id":"x1"})");
  auto ack = a->read_json_type("ack");
  auto on_b = b->read_json();
  EXPECT_EQ(on_b["type"], "message");
  EXPECT_EQ(on_b["id"], ack["id"]);
  std::vector<std::string> ids;
  ids.push_back(worker_event(token, {{"type", "reply_start"}, {"reply_to", ack["id"]}}));
  for (int i = 0; i < 5; ++i) ids.push_back(worker_event(token, {{"type", "delta"}, {"text", "t" + std::to_string(i)}}));
  ids.push_back(worker_event(token, {{"type", "reply_end"}, {"reply_to", ack["id"]}}));
  for (auto* ws : {a.get(), b.get()}) {
    if (ws == a.get()) {
      EXPECT_EQ(ws->read_json()["type"], "message");
    }
    for (const auto& id : ids) EXPECT_EQ(ws->read_json()["id"], id.c_str());
    EXPECT_FALSE(ws->next(200ms)) << "no duplicates";
  }
}

TEST_P(Ws, ResumeDeliversExactlyTheMissedEvents) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text("first");
  auto ack = ws->read_json_type("ack");
  auto msg = ws->read_json_type("message");
  auto d1 = worker_event(token, {{"type", "delta"}, {"text", "a"}});
  EXPECT_EQ(ws->read_json()["id"], d1.c_str());
  ws->drop();
  std::vector<std::string> missed;
  for (int i = 0; i < 300; ++i) missed.push_back(worker_event(token, {{"type", "delta"}, {"text", std::to_string(i)}}));
  auto back = connect(token, d1);
  for (const auto& id : missed) {
    auto e = back->read_json();
    ASSERT_EQ(e["id"], id.c_str());
  }
  auto live = worker_event(token, {{"type", "reply_end"}});
  EXPECT_EQ(back->read_json()["id"], live.c_str());
  EXPECT_FALSE(back->next(200ms));
  // From the very beginning: everything, starting with the message event.
  auto all = connect(token, "0-0");
  EXPECT_EQ(all->read_json()["id"], msg["id"]);
}

TEST_P(Ws, ResumePastRetentionAsksForResync) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text("first");
  auto ack = ws->read_json_type("ack");
  const std::string old_id(ack["id"].as_string());
  for (int i = 0; i < 5; ++i) worker_event(token, {{"type", "delta"}, {"text", "x"}});
  db().command({"XTRIM", "parley:{" + token + "}:events", "MAXLEN", "2"});
  // An id that is still kept resumes normally even though older events were trimmed.
  auto kept = db().command({"XRANGE", "parley:{" + token + "}:events", "-", "+", "COUNT", "1"});
  auto fine = connect(token, kept.elements[0].elements[0].str);
  EXPECT_EQ(fine->read_json()["type"], "delta");
  pt::ws_client back;
  ASSERT_TRUE(back.connect({.port = port(), .target = "/chat?token=" + token + "&last_event_id=" + old_id}));
  back.read_json_type("ready");
  EXPECT_EQ(back.read_json()["type"], "resync_required");
  auto live = worker_event(token, {{"type", "delta"}, {"text", "after"}});
  EXPECT_EQ(back.read_json()["id"], live.c_str());
}

TEST_P(Ws, StopRecordsAndPublishes) {
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text(R"({"type":"stop","message_id":"1700000000000-0"})");
  ws->send_text(R"({"type":"ping"})");
  EXPECT_EQ(ws->read_json()["type"], "pong");
  EXPECT_EQ(db().command_str({"GET", "parley:{" + token + "}:stop"}), "1700000000000-0");
}

INSTANTIATE_TEST_SUITE_P(redis, Ws, pt::both_redis_kinds, pt::redis_kind_name);

class WsLimits : public GatewayTest {
 protected:
  void SetUp() override {
    start(with_metrics({"--rate-burst", "3", "--rate-per-second", "0.5", "--max-message-chars", "10",
                        "--max-queue", "5", "--queue-sample-interval", "50ms", "--busy-retry-after", "1500ms"}));
  }
};

TEST_F(WsLimits, MessageTooLong) {
  auto token = new_session();
  // The limit is announced, so a client counts against the server's own number.
  auto ws = std::make_unique<pt::ws_client>();
  ASSERT_TRUE(ws->connect({.port = port(), .target = "/chat?token=" + token}));
  EXPECT_EQ(ws->read_json_type("ready", 5s)["max_message_chars"], 10);
  ws->send_text("12345678901");
  auto e = ws->read_json();
  EXPECT_EQ(e["code"], "message_too_long");
  EXPECT_EQ(e["field"], "text");
  ws->send_text("1234567890");
  EXPECT_EQ(ws->read_json()["type"], "ack");
}

TEST_F(WsLimits, FloodingIsRateLimitedPerSession) {
  auto token = new_session();
  auto other = new_session("Other");
  auto ws = connect(token);
  for (int i = 0; i < 3; ++i) {
    ws->send_text("m" + std::to_string(i));
    EXPECT_EQ(ws->read_json_type("ack")["seq"], i + 1);
  }
  ws->send_text(R"({"type":"message","text":"too many","client_id":"r1"})");
  auto e = ws->read_json_type("error");
  EXPECT_EQ(e["code"], "rate_limited");
  EXPECT_EQ(e["client_id"], "r1");
  EXPECT_GT(e["retry_after_ms"].as_int64(), 0);
  EXPECT_LE(e["retry_after_ms"].as_int64(), 2000);
  EXPECT_EQ(history_length(token), 3);
  // Another session is not affected.
  auto ws2 = connect(other);
  ws2->send_text("hello");
  EXPECT_EQ(ws2->read_json()["type"], "ack");
  // After the wait, messages are accepted again.
  std::this_thread::sleep_for(std::chrono::milliseconds(e["retry_after_ms"].as_int64() + 100));
  ws->send_text("again");
  EXPECT_EQ(ws->read_json_type("ack")["seq"], 4);
}

TEST_F(WsLimits, BusyWhenTheQueueIsFull) {
  for (int i = 0; i < 5; ++i)
    redis().command({"XADD", "parley:requests", "*", "token", "t", "seq", "1", "id", "0-1"});
  ASSERT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_busy") == 1; }, 10s));
  auto token = new_session();
  auto ws = connect(token);
  ws->send_text("anyone?");
  auto e = ws->read_json();
  EXPECT_EQ(e["code"], "busy");
  EXPECT_EQ(e["retry_after_ms"], 1500);
  EXPECT_EQ(history_length(token), 0);
  // Workers catch up (a consumer group that has read and acknowledged everything).
  redis().command({"XGROUP", "CREATE", "parley:requests", "parley-workers", "$"});
  EXPECT_TRUE(pt::wait_until(
      [&] {
        ws->send_text("anyone?");
        return ws->read_json()["type"] == "ack";
      },
      5s));
}

class WsSlow : public GatewayTest {
 protected:
  void SetUp() override { start(with_metrics({"--max-send-queue-bytes", "70000", "--ws-idle-timeout", "1s"})); }
};

TEST_F(WsSlow, ClientThatNeverReadsIsDisconnected) {
  auto token = new_session();
  pt::ws_client slow;
  ASSERT_TRUE(slow.connect({.port = port(), .target = "/chat?token=" + token, .read = false, .receive_buffer = 4096}));
  auto healthy = connect(token);
  const std::string text(8000, 'z');
  // The healthy tab keeps up (reads each event as it comes); the slow one never reads.
  for (int i = 0; i < 1000; ++i) {
    worker_event(token, {{"type", "delta"}, {"text", text}});
    ASSERT_EQ(healthy->read_json()["type"], "delta") << i;
  }
  EXPECT_TRUE(pt::wait_until([&] { return gateway().log_text().find("send queue") != std::string::npos; }, 5s));
  slow.start_reading();
  EXPECT_TRUE(slow.wait_closed(10s));
  EXPECT_EQ(get("/test").status, 200);
}

TEST_F(WsSlow, IdleConnectionsArePingedAndDeadOnesClosed) {
  auto token = new_session();
  auto alive = connect(token);  // its reader answers pings
  pt::ws_client dead;
  ASSERT_TRUE(dead.connect({.port = port(), .target = "/chat?token=" + token, .read = false}));
  // The dead socket answers no ping and is closed at the idle timeout; the live one, idle at least
  // as long, answered its pings and stays.
  ASSERT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_websockets_opened_total") == 2; }, 10s));
  ASSERT_TRUE(pt::wait_until([&] { return sample(scrape(), "parley_gateway_websockets_open") == 1; }, 10s));
  alive->send_text(R"({"type":"ping"})");
  EXPECT_EQ(alive->read_json_type("pong")["type"], "pong");
  dead.start_reading();
  auto closed = dead.wait_closed(5s);
  ASSERT_TRUE(closed);
}


// --redis-wait-replicas on a redis-server without replicas: no message can be confirmed, so none
// is acknowledged; each is stored once and the client is told to resend it (docs/configuration.md).
class WsWaitReplicas : public GatewayTest {
 protected:
  void SetUp() override { start({"--redis-wait-replicas", "1", "--redis-wait-timeout", "50ms"}); }
};

TEST_F(WsWaitReplicas, AMessageNoReplicaConfirmedIsNotAcknowledgedAndStoredOnce) {
  auto token = new_session();
  auto ws = connect(token);
  for (int attempt = 0; attempt < 2; ++attempt) {
    ws->send_text(R"({"type":"message","text":"Hello","client_id":"c1"})");
    auto e = ws->read_json_type("error", 5s);
    EXPECT_EQ(e["code"], "unavailable");
    EXPECT_EQ(e["client_id"], "c1");
  }
  EXPECT_EQ(db().command_str({"LLEN", "parley:{" + token + "}:history"}), "1");
}

}  // namespace gw_test
