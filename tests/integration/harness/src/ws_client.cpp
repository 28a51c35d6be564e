#include <parley/test/ws_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>

#include <future>
#include <stdexcept>

namespace parley::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

struct ws_client::impl {
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
  std::unique_ptr<websocket::stream<beast::tcp_stream>> ws;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<ws_event> events;
  std::vector<std::string> ignored;  // frame prefixes dropped on arrival (ignore_type)
  bool closed = false;

  impl() : thread([this] { ioc.run(); }) {}
  // Closing the socket aborts the reader; the thread then runs out of work and the frames of
  // every coroutine complete before `ws` is destroyed.
  ~impl() {
    net::post(ioc, [this] {
      if (ws) beast::get_lowest_layer(*ws).close();
    });
    work.reset();
    thread.join();
  }

  void push(ws_event ev) {
    {
      std::lock_guard lk(mu);
      for (const auto& prefix : ignored)
        if (ev.type == ws_event::kind::text && ev.data.starts_with(prefix)) return;
      events.push_back(std::move(ev));
    }
    cv.notify_all();
  }

  net::awaitable<void> reader() {
    beast::flat_buffer buf;
    while (true) {
      auto [ec, n] = co_await ws->async_read(buf, net::as_tuple(net::use_awaitable));
      if (ec) {
        ws_event ev;
        ev.type = ws_event::kind::closed;
        ev.close_code = ws->reason().code;
        ev.close_reason = std::string(ws->reason().reason.c_str());
        ev.error = ec.message();
        push(std::move(ev));
        co_return;
      }
      ws_event ev;
      ev.type = ws->got_text() ? ws_event::kind::text : ws_event::kind::binary;
      ev.data = beast::buffers_to_string(buf.data());
      buf.consume(buf.size());
      push(std::move(ev));
    }
  }

  template <class F>
  auto run_sync(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    net::post(ioc, [&task] { task(); });
    return fut.get();
  }
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {}
ws_client::~ws_client() = default;

bool ws_client::connect(const ws_connect_options& opts) {
  std::promise<bool> done;
  auto fut = done.get_future();
  auto* im = impl_.get();
  net::co_spawn(
      im->ioc,
      [&, im]() -> net::awaitable<void> {
        im->ws = std::make_unique<websocket::stream<beast::tcp_stream>>(im->ioc);
        auto& lowest = beast::get_lowest_layer(*im->ws);
        lowest.expires_after(opts.timeout);
        if (opts.receive_buffer > 0) {
          beast::error_code ec;
          lowest.socket().open(tcp::v4(), ec);
          lowest.socket().set_option(net::socket_base::receive_buffer_size(opts.receive_buffer), ec);
        }
        auto [cec] = co_await lowest.async_connect(
            tcp::endpoint(net::ip::make_address(opts.host), opts.port), net::as_tuple(net::use_awaitable));
        if (cec) {
          done.set_value(false);
          co_return;
        }
        im->ws->set_option(websocket::stream_base::decorator([&opts](websocket::request_type& req) {
          for (const auto& [k, v] : opts.headers) req.set(k, v);
        }));
        websocket::response_type res;
        auto [hec] = co_await im->ws->async_handshake(res, opts.host + ":" + std::to_string(opts.port),
                                                      opts.target, net::as_tuple(net::use_awaitable));
        handshake_status_ = static_cast<int>(res.result_int());
        handshake_body_ = res.body();
        if (hec) {
          done.set_value(false);
          co_return;
        }
        lowest.expires_never();
        im->ws->read_message_max(64 * 1024 * 1024);
        if (opts.read) {
          reading_ = true;
          net::co_spawn(im->ioc, im->reader(), net::detached);
        }
        done.set_value(true);
      },
      net::detached);
  return fut.get();
}

bool ws_client::send_text(std::string text) {
  auto* im = impl_.get();
  std::promise<bool> done;
  auto fut = done.get_future();
  net::co_spawn(
      im->ioc,
      [&, im]() -> net::awaitable<void> {
        if (!im->ws) {
          done.set_value(false);
          co_return;
        }
        im->ws->text(true);
        auto [ec, n] = co_await im->ws->async_write(net::buffer(text), net::as_tuple(net::use_awaitable));
        done.set_value(!ec);
      },
      net::detached);
  return fut.get();
}

bool ws_client::send_binary(std::string data) {
  auto* im = impl_.get();
  std::promise<bool> done;
  auto fut = done.get_future();
  net::co_spawn(
      im->ioc,
      [&, im]() -> net::awaitable<void> {
        if (!im->ws) {
          done.set_value(false);
          co_return;
        }
        im->ws->binary(true);
        auto [ec, n] = co_await im->ws->async_write(net::buffer(data), net::as_tuple(net::use_awaitable));
        done.set_value(!ec);
      },
      net::detached);
  return fut.get();
}

void ws_client::close(std::uint16_t code) {
  auto* im = impl_.get();
  std::promise<void> done;
  auto fut = done.get_future();
  net::co_spawn(
      im->ioc,
      [&, im]() -> net::awaitable<void> {
        if (im->ws && im->ws->is_open()) {
          beast::get_lowest_layer(*im->ws).expires_after(std::chrono::seconds(5));
          co_await im->ws->async_close(websocket::close_reason(code), net::as_tuple(net::use_awaitable));
        }
        done.set_value();
      },
      net::detached);
  fut.get();
}

void ws_client::drop() {
  auto* im = impl_.get();
  im->run_sync([im] {
    if (im->ws) {
      beast::error_code ec;
      beast::get_lowest_layer(*im->ws).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(*im->ws).socket().close(ec);
    }
    return 0;
  });
}

void ws_client::start_reading() {
  if (reading_) return;
  reading_ = true;
  auto* im = impl_.get();
  net::co_spawn(im->ioc, im->reader(), net::detached);
}

void ws_client::ignore_type(const std::string& type) {
  std::lock_guard lk(impl_->mu);
  impl_->ignored.push_back("{\"type\":\"" + type + "\"");
}

std::optional<ws_event> ws_client::next(std::chrono::milliseconds timeout) {
  std::unique_lock lk(impl_->mu);
  if (!impl_->cv.wait_for(lk, timeout, [&] { return !impl_->events.empty(); })) return std::nullopt;
  ws_event ev = std::move(impl_->events.front());
  // The close event stays queued so that later reads see it again instead of timing out.
  if (ev.type == ws_event::kind::closed) return ev;
  impl_->events.pop_front();
  return ev;
}

boost::json::object ws_client::read_json(std::chrono::milliseconds timeout) {
  auto ev = next(timeout);
  if (!ev) throw std::runtime_error("no frame within the timeout");
  if (ev->type == ws_event::kind::closed)
    throw std::runtime_error("connection closed: code " + std::to_string(ev->close_code) + " " +
                             ev->close_reason + " (" + ev->error + ")");
  if (ev->type == ws_event::kind::binary) throw std::runtime_error("unexpected binary frame");
  boost::system::error_code ec;
  auto v = boost::json::parse(ev->data, ec);
  if (ec || !v.is_object()) throw std::runtime_error("not a JSON object: " + ev->data);
  return v.as_object();
}

boost::json::object ws_client::read_json_type(std::string_view type, std::chrono::milliseconds timeout,
                                              std::vector<boost::json::object>* skipped) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no '" + std::string(type) + "' frame within the timeout");
    auto obj = read_json(left);
    auto* t = obj.if_contains("type");
    if (t && t->is_string() && t->as_string() == type) return obj;
    if (skipped) skipped->push_back(std::move(obj));
  }
}

std::optional<ws_event> ws_client::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto ev = next(left);
    if (!ev) return std::nullopt;
    if (ev->type == ws_event::kind::closed) return ev;
  }
}

}  // namespace parley::test
