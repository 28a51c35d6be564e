// WebSocket details below the level of ws_client: several frames arriving in one TCP segment, a
// frame header arriving before its payload, fragmented and empty messages, a client ping between
// messages; and the session expiry while a socket is open (kept alive by it; closed with 4001
// once the session is gone).
//
// The gateway waits for each message with a payload-less read through Beast. Frames that arrive
// together land in Beast's own read buffer, where a wait on the bare socket would never see them:
// these tests hang (and fail on the receive timeout) if that wait ever bypasses Beast.
#include "fixture.hpp"

#include <parley/test/raw_ws.hpp>

#include <thread>

namespace gw_test {

using pt::client_frame;
using pt::raw_ws;
constexpr auto op_continuation = pt::ws_op_continuation, op_text = pt::ws_op_text, op_ping = pt::ws_op_ping;

class WsFraming : public GatewayTest {
 protected:
  void SetUp() override { start(); }
};

TEST_F(WsFraming, FramesArrivingTogetherAreEachHandled) {
  raw_ws c(port(), new_session());
  const std::string ping = R"({"type":"ping"})";
  // Two messages, an empty one, a control ping and a message in two fragments, in one write.
  c.send_raw(client_frame(op_text, ping) + client_frame(op_text, ping) + client_frame(op_text, "") +
             client_frame(op_ping, "hi") + client_frame(op_text, R"({"type":)", false) +
             client_frame(op_continuation, R"("ping"})"));
  EXPECT_EQ(c.read_json()["type"], "pong");
  EXPECT_EQ(c.read_json()["type"], "pong");
  auto empty = c.read_json();
  EXPECT_EQ(empty["type"], "error");
  EXPECT_EQ(empty["code"], "empty_message");
  EXPECT_EQ(c.read_json()["type"], "pong");
  EXPECT_EQ(c.pongs(), 1);  // Beast answered the control ping on the way
}

TEST_F(WsFraming, HeaderBeforeItsPayload) {
  const auto token = new_session();
  raw_ws c(port(), token);
  const auto frame = client_frame(op_text, R"({"type":"ping"})");
  // The 6-byte header alone, then the payload later: the gateway waits for the rest.
  c.send_raw(frame.substr(0, 6));
  std::this_thread::sleep_for(200ms);
  c.send_raw(frame.substr(6, 4));
  std::this_thread::sleep_for(200ms);
  c.send_raw(frame.substr(10));
  EXPECT_EQ(c.read_json()["type"], "pong");
  // And a frame that fills Beast's read buffer more than once (a 120-byte chat message).
  c.send_raw(client_frame(op_text, std::string(120, 'x')));
  EXPECT_EQ(c.read_json()["type"], "ack");
  EXPECT_EQ(history_length(token), 1);
}

class WsExpiry : public GatewayTest {
 protected:
  void SetUp() override { start({"--session-ttl", "2s"}); }
};

TEST_F(WsExpiry, AnOpenSocketKeepsItsSessionAndAGoneSessionCloses4001) {
  auto kept = new_session("Kept");
  auto gone = new_session("Gone");
  auto kept_ws = connect(kept);
  auto gone_ws = connect(gone);
  // No message, and the open socket alone slides the expiry: two sessions without a socket, made
  // one after the other, each expire (Redis drops it a TTL after its last use) while `kept`,
  // older than both, stays.
  for (const char* name : {"Idle1", "Idle2"}) {
    const auto idle = new_session(name);
    ASSERT_TRUE(pt::wait_until([&] { return !session_exists(idle); }, 20s)) << name << " never expired";
    EXPECT_TRUE(session_exists(kept)) << "after " << name;
  }
  EXPECT_EQ(get("/refresh_token?token=" + kept).status, 200);
  // A session that disappears while its socket is open: the next touch notices.
  redis().command({"DEL", "parley:{" + gone + "}:session"});
  std::vector<json::object> skipped;
  auto err = gone_ws->read_json_type("error", 5s, &skipped);
  EXPECT_EQ(err["code"], "session_expired");
  auto closed = gone_ws->wait_closed(5s);
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->close_code, 4001);
  // The other socket is unaffected.
  kept_ws->send_text(R"({"type":"ping"})");
  EXPECT_EQ(kept_ws->read_json_type("pong")["type"], "pong");
}

}  // namespace gw_test
