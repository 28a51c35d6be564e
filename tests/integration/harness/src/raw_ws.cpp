#include <parley/test/raw_ws.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>

#include <stdexcept>

namespace parley::test {

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;
using tcp = net::ip::tcp;

std::string client_frame(std::uint8_t opcode, std::string_view payload, bool fin) {
  std::string f;
  f += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
  const auto n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xffff) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xff);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xff);
  }
  f.append(4, '\0');
  f += payload;
  return f;
}

struct raw_ws::impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  int pongs = 0;

  // One read of a whole message; nullopt on timeout (the socket is then closed).
  std::optional<boost::system::error_code> read(boost::beast::flat_buffer& buf, std::chrono::milliseconds timeout) {
    boost::system::error_code ec;
    bool done = false;
    ws.async_read(buf, [&](boost::system::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    ioc.restart();
    ioc.run_for(timeout);
    if (done) return ec;
    boost::system::error_code ignored;
    ws.next_layer().close(ignored);
    ioc.restart();
    ioc.run();
    return std::nullopt;
  }
};

raw_ws::raw_ws(std::uint16_t port, const std::string& token) : impl_(std::make_unique<impl>()) {
  impl_->ws.next_layer().connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  impl_->ws.handshake("127.0.0.1", "/chat?token=" + token);
  impl_->ws.control_callback([im = impl_.get()](websocket::frame_type kind, boost::beast::string_view) {
    if (kind == websocket::frame_type::pong) ++im->pongs;
  });
  auto ready = read_json();
  if (ready.if_contains("type") == nullptr || ready.at("type") != "ready")
    throw std::runtime_error("the first frame is not ready");
}

raw_ws::~raw_ws() = default;

void raw_ws::send_raw(const std::string& bytes) {
  // A server that fails the connection early (an oversized frame) may reset it while the rest
  // is still being written; what it answered before is still read by read_json / wait_closed.
  boost::system::error_code ec;
  net::write(impl_->ws.next_layer(), net::buffer(bytes), ec);
  if (ec && ec != net::error::broken_pipe && ec != net::error::connection_reset)
    throw std::runtime_error("write failed: " + ec.message());
}

boost::json::object raw_ws::read_json(std::chrono::milliseconds timeout) {
  boost::beast::flat_buffer buf;
  auto ec = impl_->read(buf, timeout);
  if (!ec) throw std::runtime_error("no frame within the timeout");
  if (*ec) throw std::runtime_error("read failed: " + ec->message());
  return boost::json::parse(boost::beast::buffers_to_string(buf.data())).as_object();
}

std::optional<int> raw_ws::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    boost::beast::flat_buffer buf;
    auto ec = impl_->read(buf, left);
    if (!ec) return std::nullopt;
    // The server's close frame sets reason() even when answering it then fails (the server may
    // reset a connection whose unread bytes it dropped).
    if (*ec) return static_cast<int>(impl_->ws.reason().code);
  }
}

int raw_ws::pongs() const noexcept { return impl_->pongs; }

}  // namespace parley::test
