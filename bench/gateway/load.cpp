// parley-gateway-load: a load generator for parley-gateway.
//   token    --connections C --seconds S   POST /token over C keep-alive connections; prints tokens/s
//   idle     --connections N --hold S      opens N WebSockets on --sessions tokens, holds them S s
//   messages --sessions N --seconds S      N sockets, each sending the next message on its ack; acks/s
//            [--redis-port P]              resets Redis stats when every socket is open and reads
//                                          INFO commandstats after the run (commands per message)
// Prints one JSON line with the results on stdout; progress on stderr.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct options {
  std::string mode;
  std::string host = "127.0.0.1";
  std::uint16_t port = 3500;
  int connections = 16;
  int sessions = 100;
  int seconds = 10;
  int hold = 10;
  std::uint16_t redis_port = 0;
};

// A blocking RESP round trip for the few admin commands of the benchmark; returns the raw reply.
std::string redis_admin(const options& o, const std::vector<std::string>& args) {
  net::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address(o.host), o.redis_port));
  std::string cmd = "*" + std::to_string(args.size()) + "\r\n";
  for (const auto& a : args) cmd += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  net::write(s, net::buffer(cmd));
  std::string reply;
  char buf[65536];
  // Status replies end at the first CRLF; bulk replies announce their length.
  while (true) {
    reply.append(buf, s.read_some(net::buffer(buf)));
    if (reply[0] == '+' || reply[0] == '-') {
      if (reply.find("\r\n") != std::string::npos) break;
    } else if (reply[0] == '$') {
      auto crlf = reply.find("\r\n");
      if (crlf != std::string::npos && reply.size() >= crlf + 2 + std::stoul(reply.substr(1, crlf - 1)) + 2) break;
    }
  }
  return reply;
}

// Sum of calls per command from INFO commandstats text.
json::object command_calls(const std::string& info) {
  json::object out;
  long long total = 0;
  std::size_t pos = 0;
  while ((pos = info.find("cmdstat_", pos)) != std::string::npos) {
    auto colon = info.find(':', pos);
    auto calls = info.find("calls=", colon);
    auto comma = info.find(',', calls);
    const auto name = info.substr(pos + 8, colon - pos - 8);
    const long long n = std::stoll(info.substr(calls + 6, comma - calls - 6));
    out[name] = n;
    total += n;
    pos = comma;
  }
  out["total"] = total;
  return out;
}

struct stats {
  std::atomic<long long> ok{0};
  std::atomic<long long> failed{0};
  std::atomic<long long> open{0};
  std::atomic<long long> refused{0};
  std::atomic<long long> late{0};  // acks of messages still in flight at the deadline
};

// Connects with TCP_NODELAY: each request or frame is one small write, which Nagle's algorithm
// would hold back behind the previous one's (delayed) ACK.
net::awaitable<bool> connect(beast::tcp_stream& s, const options& o) {
  auto [ec] = co_await s.async_connect(tcp::endpoint(net::ip::make_address(o.host), o.port), use_tuple);
  if (ec) co_return false;
  boost::system::error_code ignored;
  s.socket().set_option(tcp::no_delay(true), ignored);
  co_return true;
}

// POSTs /token in a loop on one keep-alive connection until the deadline.
net::awaitable<void> token_worker(const options& o, stats& st, clock_type::time_point deadline,
                                  std::vector<std::string>* tokens) {
  auto ex = co_await net::this_coro::executor;
  beast::tcp_stream s(ex);
  if (!co_await connect(s, o)) {
    ++st.failed;
    co_return;
  }
  beast::flat_buffer buf;
  int n = 0;
  while (clock_type::now() < deadline) {
    http::request<http::string_body> req{http::verb::post, "/token?name=bench" + std::to_string(n++), 11};
    req.set(http::field::host, o.host);
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(s, req, use_tuple);
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(s, buf, res, use_tuple);
    if (wec || rec) {
      ++st.failed;
      co_return;
    }
    if (res.result() == http::status::ok) {
      ++st.ok;
      if (tokens) tokens->push_back(std::string(json::parse(res.body()).as_object()["token"].as_string()));
    } else {
      ++st.failed;
    }
    if (tokens && static_cast<int>(tokens->size()) >= o.sessions) co_return;
  }
}

std::vector<std::string> make_tokens(const options& o, int count) {
  net::io_context ioc;
  stats st;
  std::vector<std::string> tokens;
  options t = o;
  t.sessions = count;
  net::co_spawn(ioc, token_worker(t, st, clock_type::now() + std::chrono::minutes(5), &tokens), net::detached);
  ioc.run();
  return tokens;
}

// Connects and upgrades to /chat; a failure is counted in `st` (failed: no TCP connection,
// refused: the upgrade was turned down) and returns false.
net::awaitable<bool> open_chat(websocket::stream<beast::tcp_stream>& ws, const options& o, stats& st,
                               const std::string& token) {
  const bool connected = co_await connect(beast::get_lowest_layer(ws), o);
  if (!connected) {
    ++st.failed;
    co_return false;
  }
  auto [hec] = co_await ws.async_handshake(o.host, "/chat?token=" + token, use_tuple);
  if (hec) {
    ++st.refused;
    co_return false;
  }
  co_return true;
}

net::awaitable<void> idle_socket(const options& o, stats& st, std::string token, net::steady_timer& release) {
  auto ex = co_await net::this_coro::executor;
  websocket::stream<beast::tcp_stream> ws(ex);
  const bool open = co_await open_chat(ws, o, st, token);
  if (!open) co_return;
  ++st.open;
  // Keep reading (answers the server's pings) until released.
  beast::flat_buffer buf;
  net::co_spawn(
      ex,
      [&]() -> net::awaitable<void> {
        co_await release.async_wait(use_tuple);
        beast::get_lowest_layer(ws).close();
      },
      net::detached);
  while (true) {
    auto [ec, n] = co_await ws.async_read(buf, use_tuple);
    if (ec) break;
    buf.consume(n);
  }
}

net::awaitable<void> chatter(const options& o, stats& st, std::string token, net::steady_timer& go,
                             clock_type::time_point& deadline) {
  auto ex = co_await net::this_coro::executor;
  websocket::stream<beast::tcp_stream> ws(ex);
  const bool open = co_await open_chat(ws, o, st, token);
  if (!open) co_return;
  beast::flat_buffer buf;
  auto [fec, fn] = co_await ws.async_read(buf, use_tuple);  // `ready`
  if (fec) {
    ++st.failed;  // upgraded, then closed before `ready`: not an open socket
    co_return;
  }
  buf.consume(buf.size());
  ++st.open;
  co_await go.async_wait(use_tuple);
  int n = 0;
  while (clock_type::now() < deadline) {
    ws.text(true);
    std::string text = "message " + std::to_string(n++);
    auto [wec, wn] = co_await ws.async_write(net::buffer(text), use_tuple);
    if (wec) break;
    // Read until this message's ack (or an error frame); other frames are events.
    while (true) {
      auto [rec, rn] = co_await ws.async_read(buf, use_tuple);
      if (rec) co_return;
      auto frame = json::parse(beast::buffers_to_string(buf.data())).as_object();
      buf.consume(buf.size());
      if (frame["type"] == "ack") {
        if (clock_type::now() < deadline)
          ++st.ok;
        else
          ++st.late;
        break;
      }
      if (frame["type"] == "error") {
        ++st.failed;
        break;
      }
    }
  }
  co_await ws.async_close(websocket::close_code::normal, use_tuple);
}

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--host") o.host = next();
    else if (a == "--port") o.port = static_cast<std::uint16_t>(std::stoi(next()));
    else if (a == "--connections") o.connections = std::stoi(next());
    else if (a == "--sessions") o.sessions = std::stoi(next());
    else if (a == "--seconds") o.seconds = std::stoi(next());
    else if (a == "--hold") o.hold = std::stoi(next());
    else if (a == "--redis-port") o.redis_port = static_cast<std::uint16_t>(std::stoi(next()));
    else if (o.mode.empty() && a[0] != '-') o.mode = a;
    else {
      std::cerr << "unknown argument " << a << "\n";
      return 2;
    }
  }
  stats st;
  net::io_context ioc(1);
  json::object out{{"mode", o.mode}};
  if (o.mode == "token") {
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::seconds(o.seconds);
    for (int i = 0; i < o.connections; ++i) net::co_spawn(ioc, token_worker(o, st, deadline, nullptr), net::detached);
    ioc.run();
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    out["connections"] = o.connections;
    out["ok"] = st.ok.load();
    out["failed"] = st.failed.load();
    out["per_second"] = st.ok / secs;
  } else if (o.mode == "idle") {
    auto tokens = make_tokens(o, o.sessions);
    net::steady_timer release(ioc, std::chrono::hours(1));
    for (int i = 0; i < o.connections; ++i)
      net::co_spawn(ioc, idle_socket(o, st, tokens[i % tokens.size()], release), net::detached);
    std::thread runner([&] { ioc.run(); });
    const auto until = clock_type::now() + std::chrono::seconds(120);
    while (st.open + st.failed + st.refused < o.connections && clock_type::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::cerr << "open " << st.open << " failed " << st.failed << " refused " << st.refused << "\n";
    // run.sh samples the gateway's RSS while the sockets are held; READY tells it when.
    std::cerr << "READY" << std::endl;
    std::this_thread::sleep_for(std::chrono::seconds(o.hold));
    net::post(ioc, [&] { release.cancel(); });
    runner.join();
    out["connections"] = o.connections;
    out["open"] = st.open.load();
    out["failed"] = st.failed.load() + st.refused.load();
  } else if (o.mode == "messages") {
    auto tokens = make_tokens(o, o.sessions);
    net::steady_timer go(ioc, std::chrono::hours(1));
    auto start = clock_type::now();
    auto deadline = start + std::chrono::hours(1);
    for (const auto& t : tokens) net::co_spawn(ioc, chatter(o, st, t, go, deadline), net::detached);
    std::thread runner([&] { ioc.run(); });
    while (st.open + st.failed + st.refused < static_cast<long long>(tokens.size()))
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (o.redis_port) redis_admin(o, {"CONFIG", "RESETSTAT"});
    net::post(ioc, [&] {
      start = clock_type::now();
      deadline = start + std::chrono::seconds(o.seconds);
      go.cancel();
    });
    runner.join();
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    if (o.redis_port) out["commandstats"] = command_calls(redis_admin(o, {"INFO", "commandstats"}));
    out["sessions"] = o.sessions;
    out["acked"] = st.ok.load();
    out["acked_late"] = st.late.load();
    out["errors"] = st.failed.load() + st.refused.load();
    out["per_second"] = st.ok / secs;
  } else {
    std::cerr << "usage: parley-gateway-load token|idle|messages [--host H] [--port P] [--connections N] "
                 "[--sessions N] [--seconds S] [--hold S]\n";
    return 2;
  }
  std::cout << json::serialize(out) << std::endl;
  return 0;
}
