#pragma once
// A WebSocket client whose raw TCP writes can split or join frames at will, or send frames no
// well-behaved client would (bad opcodes, unmasked, oversized control frames...). The handshake
// and the server's frames go through Beast. Each read gives up after its timeout, so a server
// that never answers fails the test instead of hanging it. One test thread drives it.
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::test {

inline constexpr std::uint8_t ws_op_continuation = 0x0, ws_op_text = 0x1, ws_op_binary = 0x2, ws_op_close = 0x8,
                              ws_op_ping = 0x9;

// A client frame: FIN and opcode as given, masked with the all-zero key (so the payload is sent
// as is), with the 7-, 16- or 64-bit length the payload needs.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin = true);

class raw_ws {
 public:
  // Upgrades /chat?token=... and reads the `ready` frame; throws std::runtime_error on failure.
  raw_ws(std::uint16_t port, const std::string& token);
  ~raw_ws();
  raw_ws(const raw_ws&) = delete;
  raw_ws& operator=(const raw_ws&) = delete;

  // Writes the bytes as they are; a reset by the server on the way is not an error.
  void send_raw(const std::string& bytes);
  // The next data frame as JSON; pongs to our pings are counted by pongs(). Throws on timeout,
  // on close and on a read error.
  boost::json::object read_json(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Reads (skipping data frames) until the server ends the connection: the close code it sent,
  // 0 when the TCP connection ended without a close frame; nullopt if still open after `timeout`.
  std::optional<int> wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  int pongs() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace parley::test
