// WebSocket details below the level of ws_client: several frames arriving in one TCP segment, a
// frame header arriving before its payload, fragmented and empty messages, a client ping between
// messages; and the session expiry while a socket is open (kept alive by it; closed with 4001
// once the session is gone).
//
// The gateway waits for each message with a payload-less read through Beast. Frames that arrive
// together land in Beast's own read buffer, where a wait on the bare socket would never see them:
// these tests hang (and fail on the receive timeout) if that wait ever bypasses Beast.
#include "fixture.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <thread>

namespace gw_test {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

// A client frame (FIN and opcode as given, masked with the all-zero key, so the payload is sent
// as is). Payloads stay under 126 bytes.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
  f += static_cast<char>(0x80 | payload.size());
  f.append(4, '\0');
  f += payload;
  return f;
}
constexpr std::uint8_t op_continuation = 0x0, op_text = 0x1, op_ping = 0x9;

// WebSocket client whose raw TCP writes can split or join frames at will. Each read gives up
// after 5 s, so a gateway that never answers fails the test instead of hanging it.
class raw_ws {
 public:
  raw_ws(std::uint16_t port, const std::string& token) : ws_(ioc_) {
    ws_.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    ws_.handshake("127.0.0.1", "/chat?token=" + token);
    ws_.control_callback([this](websocket::frame_type kind, boost::beast::string_view) {
      if (kind == websocket::frame_type::pong) ++pongs_;
    });
    EXPECT_EQ(read_json()["type"], "ready");
  }
  void send_raw(const std::string& bytes) { net::write(ws_.next_layer(), net::buffer(bytes)); }
  // The next data frame as JSON; pongs to our pings are counted by the control callback.
  json::object read_json() {
    boost::beast::flat_buffer buf;
    boost::system::error_code ec;
    bool done = false;
    ws_.async_read(buf, [&](boost::system::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    ioc_.restart();
    ioc_.run_for(5s);
    if (!done) {
      ws_.next_layer().close();
      ioc_.restart();
      ioc_.run();
      throw std::runtime_error("no frame within 5 s");
    }
    if (ec) throw std::runtime_error("read failed: " + ec.message());
    return json::parse(boost::beast::buffers_to_string(buf.data())).as_object();
  }
  int pongs() const { return pongs_; }

 private:
  net::io_context ioc_;
  websocket::stream<tcp::socket> ws_;
  int pongs_ = 0;
};

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
