// The gateway against clients that misbehave at the TCP and HTTP level: half-sent request heads
// from one address, more connections than descriptors, clients that send everything before
// reading, malformed Host headers and WebSocket handshakes. Each answer is the documented one
// and nobody else is disturbed.
#include "fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gw_test {

namespace {

// A blocking loopback TCP connection from `source` (any 127.0.0.0/8 address is this host's).
class raw_socket {
 public:
  raw_socket(std::uint16_t port, const char* source = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) close();
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) close();
  }
  ~raw_socket() { close(); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Writes everything (blocking): returns false if the server reset the connection first.
  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  // Everything received until the peer closes, or until `timeout` passes.
  std::string read_all(std::chrono::milliseconds timeout = 10s) {
    std::string out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    char buf[16384];
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }
 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

const std::string half_head = "GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

int status_of(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  return std::stoi(raw.substr(9, 3));
}

std::string body_of_raw(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

}  // namespace

class Abuse : public GatewayTest {
 protected:
  void SetUp() override {}
  // A GET /test from another address answers 200 within a second.
  bool others_are_served(const char* source) {
    raw_socket s(port(), source);
    if (!s.ok() || !s.send_all("GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")) return false;
    return status_of(s.read_all(1s)) == 200;
  }
};

TEST_F(Abuse, HalfSentHeadsFromOneAddressAreCappedAtAccept) {
  start({"--max-connections-per-ip", "20", "--http-header-timeout", "2s"});
  std::vector<std::unique_ptr<raw_socket>> flood;
  for (int i = 0; i < 300; ++i) {
    auto s = std::make_unique<raw_socket>(port());
    ASSERT_TRUE(s->ok()) << i;
    s->send_all(half_head);
    flood.push_back(std::move(s));
  }
  auto readable = [](raw_socket& s) {
    pollfd p{s.fd(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  };
  // Over the cap, a connection is answered 429 at once, before its head is complete; the 20
  // within it are still waiting for their heads.
  ASSERT_TRUE(pt::wait_until(
      [&] {
        int answered = 0;
        for (auto& s : flood) answered += readable(*s);
        return answered >= 280;
      },
      5s));
  EXPECT_TRUE(others_are_served("127.0.0.2"));
  int refused = 0, timed_out = 0;
  for (auto& s : flood) {
    if (!readable(*s)) continue;
    const auto raw = s->read_all(1s);
    EXPECT_EQ(status_of(raw), 429) << raw;
    EXPECT_NE(raw.find("Retry-After: 5"), std::string::npos) << raw;
    ++refused;
  }
  EXPECT_EQ(refused, 280);
  // Those 20 get 408 when their head timeout passes.
  for (auto& s : flood) {
    if (s->fd() < 0) continue;
    const auto raw = s->read_all(5s);
    if (status_of(raw) == 408) ++timed_out;
  }
  EXPECT_EQ(timed_out, 20);
  EXPECT_TRUE(gateway().proc().running());
}

TEST_F(Abuse, AHeadNotCompletedInTimeGets408) {
  start({"--http-header-timeout", "1s"});
  raw_socket s(port());
  ASSERT_TRUE(s.send_all(half_head));
  const auto started = std::chrono::steady_clock::now();
  const auto raw = s.read_all(5s);
  EXPECT_EQ(status_of(raw), 408) << raw;
  EXPECT_NE(body_of_raw(raw).find("\"detail\""), std::string::npos) << raw;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  // A connection that sends nothing at all is closed without an answer.
  raw_socket silent(port());
  EXPECT_EQ(silent.read_all(5s), "");
  EXPECT_TRUE(others_are_served("127.0.0.1"));
}

TEST_F(Abuse, ConnectionsInAllAreCappedSoRefusalsStillGetThrough) {
  start({"--max-connections", "30", "--http-header-timeout", "5s"});
  std::vector<std::unique_ptr<raw_socket>> held;
  // 30 addresses, one connection each: the per-address cap never applies.
  for (int i = 0; i < 30; ++i) {
    const std::string source = "127.0.1." + std::to_string(i + 1);
    auto s = std::make_unique<raw_socket>(port(), source.c_str());
    ASSERT_TRUE(s->ok());
    s->send_all(half_head);
    held.push_back(std::move(s));
  }
  ASSERT_TRUE(pt::wait_until([&] {
    raw_socket probe(port(), "127.0.2.1");
    probe.send_all("GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto raw = probe.read_all(1s);
    return status_of(raw) == 503 && raw.find("Retry-After: 5") != std::string::npos;
  }, 5s));
  held.pop_back();
  EXPECT_TRUE(pt::wait_until([&] { return others_are_served("127.0.2.2"); }, 5s));
}

// Python's http.client, urllib and requests send the whole request before reading: the error
// answer must survive that (no reset while their body is still arriving).
TEST_F(Abuse, ClientsThatSendEverythingFirstStillReadTheErrorAnswer) {
  start();
  {
    raw_socket s(port());
    const std::string body(2 * 1024 * 1024, 'x');
    ASSERT_TRUE(s.send_all("POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
    EXPECT_TRUE(s.send_all(body)) << "the gateway reset the connection while the body was being sent";
    s.shutdown_write();
    const auto raw = s.read_all();
    EXPECT_EQ(status_of(raw), 413) << raw.substr(0, 200);
  }
  {
    raw_socket s(port());
    const std::string header = "X-Big: " + std::string(4 * 1024 * 1024, 'y') + "\r\n";
    ASSERT_TRUE(s.send_all("GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
    EXPECT_TRUE(s.send_all(header + "\r\n")) << "the gateway reset the connection while the head was being sent";
    s.shutdown_write();
    const auto raw = s.read_all();
    EXPECT_EQ(status_of(raw), 431) << raw.substr(0, 200);
  }
  EXPECT_TRUE(others_are_served("127.0.0.1"));
}

TEST_F(Abuse, HostHeaderMustBeThereExactlyOnce) {
  start();
  auto ask = [&](const std::string& head) {
    raw_socket s(port());
    s.send_all(head);
    return status_of(s.read_all(5s));
  };
  EXPECT_EQ(ask("GET /test HTTP/1.1\r\nConnection: close\r\n\r\n"), 400);
  EXPECT_EQ(ask("GET /test HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"), 400);
  EXPECT_EQ(ask("GET /test HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 200);
  // HTTP/1.0 needs none (it may answer in 1.1, as Beast does).
  raw_socket old(port());
  old.send_all("GET /test HTTP/1.0\r\n\r\n");
  const auto raw = old.read_all(5s);
  EXPECT_NE(raw.find(" 200 "), std::string::npos) << raw;
}

TEST_F(Abuse, WebSocketHandshakeRefusalsAreTheDocumentedJson) {
  start();
  auto token = new_session();
  auto upgrade = [&](const std::string& extra) {
    raw_socket s(port());
    s.send_all("GET /chat?token=" + token +
               " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + extra + "\r\n");
    return s.read_all(5s);
  };
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  auto bad_version = upgrade(key + "Sec-WebSocket-Version: 8\r\n");
  EXPECT_EQ(status_of(bad_version), 426) << bad_version;
  EXPECT_NE(bad_version.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << bad_version;
  for (const auto& raw : {bad_version, upgrade("Sec-WebSocket-Version: 13\r\n"),
                          upgrade("Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n")}) {
    EXPECT_NE(raw.find("Content-Type: application/json"), std::string::npos) << raw;
    boost::system::error_code ec;
    auto body = json::parse(body_of_raw(raw), ec);
    ASSERT_FALSE(ec) << raw;
    EXPECT_TRUE(body.as_object().contains("detail")) << raw;
  }
  EXPECT_EQ(status_of(upgrade("Sec-WebSocket-Version: 13\r\n")), 400);
  EXPECT_EQ(status_of(upgrade("Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n")), 400);
  EXPECT_EQ(status_of(upgrade(key + "Sec-WebSocket-Version: 13\r\n")), 101);
}

// Small frames (an ack, a one-token delta) must leave at once, not wait for the client's delayed
// ACK (Nagle): a 40 ms stall on every event otherwise.
TEST_F(Abuse, EveryAcceptedSocketHasTcpNodelay) {
  start();
  auto token = new_session();
  raw_socket http(port());
  ASSERT_TRUE(http.send_all("GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  pollfd p{http.fd(), POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 5000), 0);
  EXPECT_EQ(pt::peer_socket_nodelay(gateway().proc().pid(), pt::local_port_of(http.fd())), std::optional<bool>(true));
  raw_socket ws(port());
  ASSERT_TRUE(ws.send_all("GET /chat?token=" + token +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
  pollfd q{ws.fd(), POLLIN, 0};
  ASSERT_GT(::poll(&q, 1, 5000), 0);
  EXPECT_EQ(pt::peer_socket_nodelay(gateway().proc().pid(), pt::local_port_of(ws.fd())), std::optional<bool>(true));
}

}  // namespace gw_test
