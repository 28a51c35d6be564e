#include <parley/gateway/errors.hpp>
#include <parley/gateway/ws_session.hpp>
#include <parley/keys.hpp>
#include <parley/validation.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

namespace parley::gateway {

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
// Events fetched per XRANGE while replaying a backlog.
constexpr std::size_t replay_page = 256;
// Beast's write buffer serves masking and compression, which a server without permessage-deflate
// never does; with auto-fragmenting off the default 4 KiB per socket would only be idle memory.
constexpr std::size_t write_buffer_bytes = 256;
// Target of the payload-less read that waits for the next message. Zero bytes are ever written
// to it, but it must not be null: Beast's UTF-8 checker does pointer arithmetic on the
// (empty) buffer it was given, which goes wrong for a null pointer.
char no_payload;
}  // namespace

ws_session::ws_session(beast::tcp_stream stream, context& ctx, session_snapshot session,
                       std::optional<protocol::stream_id> last_event_id, connection_limiter::lease lease)
    : ws_(stream.release_socket()),
      ctx_(ctx),
      session_(std::move(session)),
      lease_(std::move(lease)),
      resume_requested_(last_event_id.has_value()),
      touch_timer_(ws_.get_executor()),
      events_(last_event_id.value_or(protocol::stream_id{})) {}

ws_session::~ws_session() = default;

// The connection's one long-lived coroutine: the read loop is inline rather than a coroutine of
// its own, one frame less per idle socket.
net::awaitable<void> ws_session::run(std::shared_ptr<ws_session> self,
                                     std::unique_ptr<http::request<http::string_body>> req) {
  const bool open = co_await self->accept(std::move(req));
  if (!open) co_return;
  auto& ws = self->ws_;
  spdlog::debug("websocket open for session {}", self->session_.token);
  self->ctx_.hub.add(self->session_.token, self);
  self->arm_touch();
  co_await self->start(self);
  beast::flat_buffer buf;
  while (true) {
    // Wait for the next message without a buffer: a read into an empty buffer sequence parses the
    // next frame header (answering pings and handling close frames on the way, with the idle
    // timeout running) and returns before any payload is copied. Going through Beast matters:
    // it may already hold the next frame in its own read buffer, where a wait on the bare socket
    // would never see it. Only then does `buf` get memory, so an idle socket holds none.
    boost::system::error_code ec;
    std::size_t n = 0;
    std::tie(ec, n) = co_await ws.async_read_some(net::mutable_buffer(&no_payload, 0), use_tuple);
    // The header may have completed a message by itself (an empty frame).
    if (!ec && !ws.is_message_done()) std::tie(ec, n) = co_await ws.async_read(buf, use_tuple);
    if (ec) {
      // Oversized frames (1009) and invalid UTF-8 (1007) are failed by Beast itself, which sends
      // the close frame with that code before reporting the error here.
      if (ec != websocket::error::closed) spdlog::debug("websocket read ended: {}", ec.message());
      break;
    }
    const bool text = ws.got_text();
    std::string payload = beast::buffers_to_string(buf.data());
    // Give the memory back: the next wait for a message needs none.
    buf.clear();
    buf.shrink_to_fit();
    if (!text) {
      self->send_error(api_errc::binary_not_supported);
      continue;
    }
    co_await self->handle_text(std::move(payload));
  }
  self->ctx_.hub.remove(self->session_.token, self.get());
  self->done_ = true;
  self->touch_timer_.cancel();
  if (self->waiting_timer_) self->waiting_timer_->cancel();
  spdlog::debug("websocket closed for session {}", self->session_.token);
}

// The handshake, in a frame of its own so that its locals are gone once the socket is open.
net::awaitable<bool> ws_session::accept(std::unique_ptr<http::request<http::string_body>> req) {
  const auto& cfg = ctx_.cfg;
  ws_.set_option(websocket::stream_base::timeout{cfg.ws_handshake_timeout, cfg.ws_idle_timeout, true});
  ws_.read_message_max(cfg.max_frame_bytes);
  ws_.auto_fragment(false);
  ws_.write_buffer_bytes(write_buffer_bytes);
  ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) { res.set(http::field::server, "parley-gateway"); }));
  auto [ec] = co_await ws_.async_accept(*req, use_tuple);
  req.reset();
  if (ec) {
    spdlog::debug("websocket accept failed: {}", ec.message());
    co_return false;
  }
  ctx_.metrics.http_response(101);
  ctx_.metrics.websocket_opened();
  if (ctx_.shutting_down) {
    const websocket::close_reason going_away(static_cast<websocket::close_code>(close_code::going_away),
                                             "server shutting down");
    co_await ws_.async_close(going_away, use_tuple);
    co_return false;
  }
  co_return true;
}

// Kept out of run() so that its locals are freed once the socket is in its steady state.
net::awaitable<void> ws_session::start(std::shared_ptr<ws_session> self) {
  // Subscribe before reading the stream, so nothing published in between is lost; events that
  // arrive meanwhile are held and forwarded after the backlog, newer ids only.
  events_.begin_start();
  co_await ctx_.hub.wait_subscribed();
  if (!resume_requested_) {
    auto snap = co_await ctx_.store.load(session_.token, false, session_.owner);
    if (snap) {
      if (auto id = protocol::stream_id::parse(snap->last_event_id)) events_.start_after(*id);
    } else if (snap.error() == errc::session_not_found) {
      send_error(api_errc::session_expired);
      close_with(close_code::session_expired, "session expired");
    }
  }
  enqueue(protocol::ready_frame(session_.token, session_.name, session_.session_start, events_.last_sent().str(),
                                ctx_.cfg.max_message_chars));
  event_sequencer::frames out;
  events_.end_start(resume_requested_, out);
  send_all(out);
  if (resume_requested_) co_await sync(self);
}

net::awaitable<void> ws_session::handle_text(std::string text) {
  auto parsed = protocol::parse_client_frame(text);
  if (auto* e = std::get_if<protocol::frame_error>(&parsed)) {
    send_error(e->code, e->message, e->field);
    co_return;
  }
  auto& frame = std::get<protocol::client_frame>(parsed);
  if (std::holds_alternative<protocol::ping_frame>(frame)) {
    enqueue(protocol::pong_frame());
  } else if (auto* s = std::get_if<protocol::stop_frame>(&frame)) {
    co_await handle_stop(std::move(s->message_id));
  } else if (auto* v = std::get_if<protocol::version_frame>(&frame)) {
    co_await handle_version(std::move(*v));
  } else {
    co_await handle_message(std::move(std::get<protocol::message_frame>(frame)));
  }
}

bool ws_session::check_text(const std::string& text, const std::string& client_id) {
  const auto ec = validate_message_text(text, ctx_.cfg.max_message_chars);
  if (!ec) return true;
  api_errc code = api_errc::invalid_text;
  std::string msg = "the message text is not valid UTF-8 or contains control characters";
  if (ec == validation_errc::empty) {
    code = api_errc::empty_message;
    msg = "the message text is empty";
  } else if (ec == validation_errc::too_long) {
    code = api_errc::message_too_long;
    msg = "the message text is longer than " + std::to_string(ctx_.cfg.max_message_chars) + " characters";
  }
  send_error(code, msg, "text", std::nullopt, client_id);
  return false;
}

bool ws_session::refuse_when_busy(const std::string& client_id) {
  if (!ctx_.queue.busy()) return false;
  send_error(api_errc::busy, make_error_code(api_errc::busy).message(), std::nullopt, ctx_.cfg.busy_retry_after.count(),
             client_id);
  return true;
}

void ws_session::storage_failed(const boost::system::error_code& ec, const std::string& client_id) {
  if (ec == errc::session_not_found) {
    send_error(api_errc::session_expired, make_error_code(api_errc::session_expired).message(), std::nullopt, std::nullopt,
               client_id);
    close_with(close_code::session_expired, "session expired");
  } else {
    spdlog::warn("frame of session {} not stored: {}", session_.token, ec.message());
    send_error(api_errc::unavailable, make_error_code(api_errc::unavailable).message(), std::nullopt, std::nullopt,
               client_id);
  }
}

void ws_session::refuse_full(const std::string& client_id) {
  send_error(api_errc::conversation_full,
             "this conversation holds " + std::to_string(ctx_.cfg.max_conversation_messages) +
                 " messages, the most kept; start a new chat",
             std::nullopt, std::nullopt, client_id);
}

net::awaitable<void> ws_session::queue_and_ack(std::string id, long long seq, bool duplicate, bool unanswered,
                                               const std::string& client_id) {
  boost::system::error_code ec;
  std::optional<protocol::stream_id> request;
  // --redis-wait-replicas: the turn is acked only once replicas hold it and its request entry;
  // short of that the client hears `unavailable`, and its resend (same client_id) tries again.
  ec = co_await ctx_.store.wait_replicas(keys::session(session_.token));
  if (!ec && (!duplicate || unanswered)) {
    auto queued = co_await ctx_.store.enqueue_request(session_.token, seq, id);
    if (queued) {
      request = protocol::stream_id::parse(*queued);
      ec = co_await ctx_.store.wait_replicas(ctx_.store.request_stream_of(session_.token));
    } else {
      ec = queued.error();
    }
  }
  if (ec && ctx_.cfg.wait_replicas > 0) {
    spdlog::warn("turn {} of session {} not acknowledged: {}", id, session_.token, ec.message());
    send_error(api_errc::unavailable, "the message is stored but not yet on enough replicas; send it again with the same client_id",
               std::nullopt, std::nullopt, client_id);
    co_return;
  }
  if (ec && !duplicate) {
    // Stored but not queued: the client's resend (same client_id) queues it again, and any
    // later request of this session makes a worker answer every unanswered turn.
    spdlog::warn("turn {} of session {} stored but not queued: {}", id, session_.token, ec.message());
    send_error(api_errc::unavailable, make_error_code(api_errc::unavailable).message(), std::nullopt, std::nullopt,
               client_id);
    co_return;
  }
  ctx_.metrics.message_accepted(duplicate);
  if (!duplicate && !session_.owner.empty()) {
    if (auto aec = co_await ctx_.conversations.activity(session_.owner, session_.token))
      spdlog::warn("conversation {} not moved to the top of its list: {}", session_.token, aec.message());
  }
  enqueue(protocol::ack_frame(id, duplicate ? std::nullopt : std::optional<long long>(seq), duplicate, client_id));
  if (request) waiting_.push_back({id, *request, -1, false, -1, {}});
}

net::awaitable<void> ws_session::handle_message(protocol::message_frame m) {
  if (!check_text(m.text, m.client_id) || refuse_when_busy(m.client_id)) co_return;
  events_.begin_accept();
  auto r = co_await ctx_.store.accept(session_.token, m.text, m.client_id);
  if (!r) {
    storage_failed(r.error(), m.client_id);
  } else if (r->type == accept_outcome::kind::full) {
    refuse_full(m.client_id);
  } else if (r->type == accept_outcome::kind::rate_limited) {
    send_error(api_errc::rate_limited, make_error_code(api_errc::rate_limited).message(), std::nullopt, r->retry_after_ms,
               m.client_id);
  } else if (r->type == accept_outcome::kind::accepted || r->type == accept_outcome::kind::duplicate) {
    co_await queue_and_ack(r->id, r->seq, r->type == accept_outcome::kind::duplicate, r->unanswered, m.client_id);
  } else {
    send_error(api_errc::internal, make_error_code(api_errc::internal).message(), std::nullopt, std::nullopt, m.client_id);
  }
  end_accept();
  // After the message's own event, so a client sees ack, message, then where it waits.
  if (!waiting_.empty()) report_waiting();
}

net::awaitable<void> ws_session::handle_version(protocol::version_frame f) {
  using op = protocol::version_frame::op;
  const std::string client_id = f.client_id;
  if (f.kind == op::edit && !check_text(f.text, client_id)) co_return;
  if (f.kind != op::switch_version && refuse_when_busy(client_id)) co_return;
  events_.begin_accept();
  auto r = co_await ctx_.store.request_version(session_.token, std::move(f));
  if (!r) {
    storage_failed(r.error(), client_id);
  } else {
    switch (r->type) {
      case version_outcome::kind::accepted:
      case version_outcome::kind::duplicate:
        co_await queue_and_ack(r->id, r->seq, r->type == version_outcome::kind::duplicate, r->unanswered, client_id);
        break;
      case version_outcome::kind::switched:
        break;  // the `branch` event tells every tab, this one included
      case version_outcome::kind::rate_limited:
        send_error(api_errc::rate_limited, make_error_code(api_errc::rate_limited).message(), std::nullopt,
                   r->retry_after_ms, client_id);
        break;
      case version_outcome::kind::full:
        refuse_full(client_id);
        break;
      case version_outcome::kind::refused:
        if (r->field.empty())
          send_error(r->code, r->message, std::nullopt, std::nullopt, client_id);
        else
          send_error(r->code, r->message, r->field, std::nullopt, client_id);
        break;
    }
  }
  end_accept();
  if (!waiting_.empty()) report_waiting();
}

net::awaitable<void> ws_session::handle_stop(std::string message_id) {
  std::string request;
  auto it = std::find_if(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.message_id == message_id; });
  if (it != waiting_.end()) request = it->request.str();
  auto r = co_await ctx_.store.stop_or_withdraw(session_.token, message_id, std::move(request));
  if (!r) {
    send_error(api_errc::unavailable);
    co_return;
  }
  if (*r == stop_outcome::withdrawn)
    std::erase_if(waiting_, [&](const auto& w) { return w.message_id == message_id; });
}

void ws_session::report_waiting() {
  const auto workers = ctx_.queue.workers();
  std::erase_if(waiting_, [&](waiting_message& w) {
    const auto place = ctx_.queue.place(ctx_.store.request_shard_of(session_.token), w.request);
    if (!place.waiting) return true;
    // The estimate is compared in words, so a frame goes out when what the person reads changes.
    const std::string eta_words = place.eta ? protocol::wait_in_words(*place.eta) : std::string();
    if (workers >= 0 &&
        (place.ahead != w.ahead || place.more != w.more || workers != w.workers || eta_words != w.eta_words)) {
      w.ahead = place.ahead;
      w.more = place.more;
      w.workers = workers;
      w.eta_words = eta_words;
      enqueue(protocol::waiting_frame(w.message_id, place.ahead, place.more, workers, place.eta));
    }
    return false;
  });
  if (waiting_.empty() || done_ || close_reason_) {
    waiting_timer_.reset();
    return;
  }
  if (!waiting_timer_) waiting_timer_ = std::make_unique<net::steady_timer>(ws_.get_executor());
  waiting_timer_->expires_after(ctx_.cfg.queue_sample_interval);
  waiting_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->done_) self->report_waiting();
  });
}

net::awaitable<void> ws_session::sync(std::shared_ptr<ws_session> self) {
  if (!events_.begin_replay()) co_return;
  event_sequencer::frames out;
  do {
    while (!done_) {
      auto page = co_await ctx_.store.events_after(session_.token, events_.last_sent().str(), replay_page);
      if (!page) {
        if (!events_.gap()) spdlog::warn("replay for session {} failed: {}", session_.token, page.error().message());
        if (events_.replay_failed()) net::co_spawn(ws_.get_executor(), retry_sync(self), net::detached);
        break;
      }
      const auto step = events_.replay_page(std::move(*page), out);
      send_all(out);
      if (step != event_sequencer::page_step::next_page) break;
    }
  } while (events_.end_pass(out) && !done_);
  send_all(out);
}

net::awaitable<void> ws_session::retry_sync(std::shared_ptr<ws_session> self) {
  net::steady_timer wait(ws_.get_executor(), ctx_.cfg.replay_retry);
  co_await wait.async_wait(use_tuple);
  if (events_.retry_due() && !done_) co_await sync(self);
}

void ws_session::deliver(protocol::stream_id id, const frame_ptr& json) {
  event_sequencer::frames out;
  events_.live(id, json, out);
  send_all(out);
}

void ws_session::end_accept() {
  event_sequencer::frames out;
  events_.end_accept(out);
  send_all(out);
}

void ws_session::send_all(event_sequencer::frames& out) {
  for (auto& f : out) enqueue(std::move(f));
  out.clear();
}

void ws_session::on_event(protocol::stream_id id, std::shared_ptr<const std::string> json) {
  net::post(ws_.get_executor(), [self = shared_from_this(), id, json = std::move(json)] { self->deliver(id, json); });
}

void ws_session::on_resubscribed() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (!self->done_) net::co_spawn(self->ws_.get_executor(), self->sync(self), net::detached);
  });
}

void ws_session::on_channel_moving() {
  net::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->done_) return;
    // Live events are dropped from now on (they are in the stream); the replay after the move,
    // or the retry scheduled here should none come, sends them in order.
    if (self->events_.replay_failed()) net::co_spawn(self->ws_.get_executor(), self->retry_sync(self), net::detached);
  });
}

void ws_session::go_away() {
  net::post(ws_.get_executor(),
            [self = shared_from_this()] { self->close_with(close_code::going_away, "server shutting down"); });
}

void ws_session::on_deleted() {
  net::post(ws_.get_executor(),
            [self = shared_from_this()] { self->close_with(close_code::deleted, "conversation deleted"); });
}

void ws_session::close_with(std::uint16_t code, const char* reason) {
  if (done_ || close_reason_) return;
  close_code_ = code;
  close_reason_ = reason;
  wake_writer();
}

void ws_session::enqueue(frame_ptr frame) {
  if (done_ || close_reason_) return;
  if (queued_bytes_ + frame->size() > ctx_.cfg.max_send_queue_bytes) {
    // The client does not read fast enough. Its socket buffer is full, so a close frame could
    // not get through either: drop the connection. Other sessions are unaffected.
    spdlog::warn("session {}: send queue over {} bytes, closing the slow connection", session_.token,
                 ctx_.cfg.max_send_queue_bytes);
    ctx_.metrics.slow_client_closed();
    done_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    beast::error_code ignored;
    ws_.next_layer().close(ignored);
    return;
  }
  queued_bytes_ += frame->size();
  queue_.push_back(std::move(frame));
  wake_writer();
}

void ws_session::wake_writer() {
  // A running writer re-checks the queue and the close before it ends, on this same strand, so
  // whatever was just added is seen by it; otherwise start one.
  if (writing_ || done_) return;
  writing_ = true;
  net::co_spawn(ws_.get_executor(), writer(shared_from_this()), net::detached);
}

net::awaitable<void> ws_session::writer(std::shared_ptr<ws_session> self) {
  while (!done_) {
    if (queue_.empty()) {
      if (close_reason_) {
        const websocket::close_reason cr(static_cast<websocket::close_code>(close_code_), close_reason_);
        co_await ws_.async_close(cr, use_tuple);
      }
      break;
    }
    frame_ptr f = queue_.front();
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(net::buffer(*f), use_tuple);
    if (!queue_.empty()) {
      queued_bytes_ -= f->size();
      queue_.pop_front();
    }
    if (ec) {
      done_ = true;
      break;
    }
  }
  writing_ = false;
}

void ws_session::arm_touch() {
  touch_timer_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.cfg.session_ttl) / 3);
  // A plain handler, not a waiting coroutine: it is all an idle socket keeps for this.
  touch_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->done_ || self->close_reason_) return;
    net::co_spawn(self->ws_.get_executor(), self->touch(self), net::detached);
  });
}

net::awaitable<void> ws_session::touch(std::shared_ptr<ws_session> self) {
  // An open socket is a use of the session: slide its expiry while it stays connected.
  auto s = co_await ctx_.store.load(session_.token, false, session_.owner);
  if (done_ || close_reason_) co_return;
  if (!s && s.error() == errc::session_not_found) {
    send_error(api_errc::session_expired);
    close_with(close_code::session_expired, "session expired");
    co_return;
  }
  arm_touch();
}

}  // namespace parley::gateway
