#pragma once
// One WebSocket connection on /chat. All its state lives on the connection's strand (the
// executor of its socket). One coroutine (run) reads client frames and handles them one at a
// time; replays and session touches run in short-lived coroutines of their own. Outgoing frames
// go through a bounded queue that ONE writer coroutine drains: it is spawned when the queue gets
// work and ends when the queue is empty, so an idle socket carries no writer frame (`writing_`
// guarantees there is never a second one). Session events arrive from the hub (any thread) and
// are posted onto the strand; they are forwarded in stream-id order, never twice, and held back
// while a backlog is being replayed or a message is being acknowledged, so the client always
// sees `ack` before anything that follows from its message.
//
// Idle memory matters here (tens of thousands of open sockets): see docs/bench/gateway.md.
#include <parley/gateway/connection_limiter.hpp>
#include <parley/gateway/context.hpp>
#include <parley/gateway/event_hub.hpp>
#include <parley/gateway/event_sequencer.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/protocol.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parley::gateway {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace http = beast::http;

// Close codes the gateway sends (docs/protocol.md).
namespace close_code {
inline constexpr std::uint16_t going_away = 1001;       // shutdown
inline constexpr std::uint16_t policy = 1008;           // send queue overflow (slow reader)
inline constexpr std::uint16_t session_expired = 4001;  // the session expired while connected
inline constexpr std::uint16_t deleted = 4004;          // the conversation was deleted
}  // namespace close_code

class ws_session : public event_sink, public std::enable_shared_from_this<ws_session> {
 public:
  ws_session(beast::tcp_stream stream, context& ctx, session_snapshot session,
             std::optional<protocol::stream_id> last_event_id, connection_limiter::lease lease);
  ~ws_session() override;

  // Completes the upgrade and serves the connection until it closes. Spawn on the socket's executor.
  // The request is held by pointer so that it is freed after the handshake instead of staying in
  // this coroutine's frame for the life of the socket.
  static net::awaitable<void> run(std::shared_ptr<ws_session> self,
                                  std::unique_ptr<http::request<http::string_body>> req);

  net::any_io_executor executor() { return ws_.get_executor(); }

  void on_event(protocol::stream_id id, std::shared_ptr<const std::string> json) override;
  void on_resubscribed() override;
  void on_channel_moving() override;
  void go_away() override;
  void on_deleted() override;

 private:
  using frame_ptr = std::shared_ptr<const std::string>;
  net::awaitable<bool> accept(std::unique_ptr<http::request<http::string_body>> req);
  net::awaitable<void> start(std::shared_ptr<ws_session> self);
  net::awaitable<void> writer(std::shared_ptr<ws_session> self);
  net::awaitable<void> touch(std::shared_ptr<ws_session> self);
  void wake_writer();
  void arm_touch();
  net::awaitable<void> sync(std::shared_ptr<ws_session> self);
  // A replay failed (Redis down or still loading): try again after replay_retry.
  net::awaitable<void> retry_sync(std::shared_ptr<ws_session> self);
  net::awaitable<void> handle_text(std::string text);
  net::awaitable<void> handle_message(protocol::message_frame m);
  net::awaitable<void> handle_version(protocol::version_frame f);
  // The parts of taking a turn that messages and versions share: each sends the error frame
  // itself and says whether the turn goes on.
  bool check_text(const std::string& text, const std::string& client_id);
  bool refuse_when_busy(const std::string& client_id);
  void storage_failed(const boost::system::error_code& ec, const std::string& client_id);
  void refuse_full(const std::string& client_id);
  // Queues the turn for the workers (a new one, or a resend still unanswered), then acks it.
  net::awaitable<void> queue_and_ack(std::string id, long long seq, bool duplicate, bool unanswered,
                                     const std::string& client_id);
  net::awaitable<void> handle_stop(std::string message_id);
  // Sends a `waiting` frame for each message of this socket still waiting for a worker whose
  // place changed since the last one, forgets those a worker took, and checks again after
  // queue_sample_interval while any wait (reading the monitor's sample: no Redis command).
  void report_waiting();
  void enqueue(frame_ptr frame);
  void enqueue(std::string frame) { enqueue(std::make_shared<const std::string>(std::move(frame))); }
  // An error frame for the client (protocol::error_frame's arguments), counted by its code.
  template <class... Args>
  void send_error(api_errc code, Args&&... args) {
    ctx_.metrics.error_frame(code);
    enqueue(protocol::error_frame(code, std::forward<Args>(args)...));
  }
  // Event order is event_sequencer's; these only send what it returns.
  void deliver(protocol::stream_id id, const frame_ptr& json);
  void end_accept();
  void send_all(event_sequencer::frames& out);
  // `reason` must be a string literal (only the pointer is kept).
  void close_with(std::uint16_t code, const char* reason);

  // A plain socket under the WebSocket: Beast's own timeouts (handshake, idle pings) cover it, so
  // tcp_stream's two extra timers would only be idle memory.
  websocket::stream<net::ip::tcp::socket> ws_;
  context& ctx_;
  session_snapshot session_;
  connection_limiter::lease lease_;
  bool resume_requested_;

  // A list allocates nothing while empty, which is what an idle socket's queue is.
  std::list<frame_ptr> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;  // the writer coroutine is running (the only place that writes frames)
  bool done_ = false;     // reader finished or connection condemned: writer exits
  // Set by close_with: the writer sends this close frame once the queue is drained.
  std::uint16_t close_code_ = 0;
  const char* close_reason_ = nullptr;
  // Slides the session's expiry every session_ttl / 3 while the socket is open.
  net::steady_timer touch_timer_;

  event_sequencer events_;

  // Messages this socket sent that no worker has taken yet (docs/protocol.md, `waiting`).
  struct waiting_message {
    std::string message_id;
    protocol::stream_id request;  // its request entry
    long long ahead = -1;         // as last reported
    bool more = false;
    long long workers = -1;
    std::string eta_words;
  };
  std::vector<waiting_message> waiting_;
  // Exists only while something waits, so an idle socket keeps no timer for this.
  std::unique_ptr<net::steady_timer> waiting_timer_;
};

}  // namespace parley::gateway
