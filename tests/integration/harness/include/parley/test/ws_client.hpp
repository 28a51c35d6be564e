#pragma once
// A WebSocket client for tests. A background thread runs its io_context; a reader coroutine
// queues every frame (and finally the close) so a test can wait for frames with a timeout, or
// assert that nothing arrives, without ever leaving the stream in a half-read state.
// Methods are called from the test thread only.
#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace parley::test {

struct ws_connect_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string target = "/chat";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Origin", "http://evil.example"}
  std::chrono::milliseconds timeout{10000};
  // false: never read (a slow client); frames pile up in the socket buffers.
  bool read = true;
  // >0: SO_RCVBUF before connecting, so a non-reading client fills up quickly.
  int receive_buffer = 0;
};

struct ws_event {
  enum class kind { text, binary, closed } type = kind::closed;
  std::string data;          // frame payload
  int close_code = 0;        // closed: the code the server sent (0 when the TCP connection just dropped)
  std::string close_reason;  // closed: the reason text
  std::string error;         // closed: the read error that ended the stream
};

class ws_client {
 public:
  ws_client();
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // True when upgraded. Otherwise handshake_status() holds the HTTP status (0: no response).
  bool connect(const ws_connect_options& opts);
  int handshake_status() const noexcept { return handshake_status_; }
  const std::string& handshake_body() const noexcept { return handshake_body_; }

  bool send_text(std::string text);
  bool send_binary(std::string data);
  // Sends a close frame and waits (up to the timeout) for the server's close.
  void close(std::uint16_t code = 1000);
  // Drops the TCP connection without a close frame (a network cut).
  void drop();
  // Starts the reader of a client connected with `read = false` (no effect otherwise).
  void start_reading();

  // Drops, from now on, every text frame of this `type` (the server writes `type` first), for
  // tests that read frames one by one and are about something else: the gateway's `waiting`
  // frames come whenever a message waits for a worker.
  void ignore_type(const std::string& type);

  // The next frame or close event; nullopt when nothing arrived within the timeout.
  std::optional<ws_event> next(std::chrono::milliseconds timeout);
  // The next text frame parsed as a JSON object; throws std::runtime_error on timeout, close,
  // binary frame or invalid JSON.
  boost::json::object read_json(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads JSON frames until one whose "type" equals `type`; the frames skipped are appended to
  // `skipped` when given. Throws like read_json.
  boost::json::object read_json_type(std::string_view type,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10),
                                     std::vector<boost::json::object>* skipped = nullptr);
  // Skips frames until the close event; nullopt on timeout.
  std::optional<ws_event> wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  bool reading_ = false;
  int handshake_status_ = 0;
  std::string handshake_body_;
};

}  // namespace parley::test
