// End-to-end throughput of the openai backend: generated tokens/s through the whole of Parley
// (WebSocket -> gateway -> Redis -> worker -> llama-server -> back) next to llama-server driven
// directly by a bare streaming client with the same concurrency. Tokens are counted by
// llama-server itself (llamacpp:tokens_predicted_total on its /metrics), so both modes count
// the same way whatever the reply lengths.
//
//   parley-bench-remote --llama-url http://127.0.0.1:8080 --sessions 4 --rounds 3 --direct
//   parley-bench-remote --llama-url ... --gateway-port 3500 --sessions 4 --rounds 3
// Prints one line of JSON: {"mode", "sessions", "replies", "tokens", "seconds", "tokens_per_s"}.
#include <parley/http/client.hpp>
#include <parley/worker/remote/openai_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <stdexcept>
#include <string>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
namespace pw = parley::worker;
using tcp = net::ip::tcp;

struct options {
  std::string llama_url = "http://127.0.0.1:8080";
  int gateway_port = 0;  // 0: direct mode
  bool direct = false;
  int sessions = 1;
  int rounds = 3;
  int max_new_tokens = 64;
};

// llama-server's own count of generated tokens.
double tokens_predicted(const parley::http::client& c, const std::string& llama_url) {
  net::io_context ioc;
  parley::http::request req;
  req.url = llama_url + "/metrics";
  auto fut = net::co_spawn(ioc, c.fetch(req), net::use_future);
  ioc.run();
  auto r = fut.get();
  if (!r || r->status != 200) throw std::runtime_error("llama-server /metrics unavailable (start it with --metrics)");
  std::smatch m;
  static const std::regex line(R"(llamacpp:tokens_predicted_total\s+([0-9.e+]+))");
  if (!std::regex_search(r->body, m, line)) throw std::runtime_error("no tokens_predicted_total in /metrics");
  return std::stod(m[1]);
}

std::string prompt(int session, int round) {
  return "Session " + std::to_string(session) + ", message " + std::to_string(round) +
         ": tell me a story about a cat, a dog and a red house in town.";
}

net::awaitable<void> direct_session(pw::backend& b, const options& o, int s, int& replies) {
  pw::generation_request req;
  req.session = "bench-" + std::to_string(s);
  req.system_prompt = "You are Parley, a helpful and concise assistant.";
  req.sampling.max_new_tokens = o.max_new_tokens;
  for (int r = 0; r < o.rounds; ++r) {
    req.message_id = std::to_string(r);
    req.history.push_back({pw::chat_turn::role::user, prompt(s, r)});
    auto res = co_await b.generate(req, [](std::string_view) {}, {});
    if (!res) throw std::runtime_error("direct request failed: " + res.error().message());
    req.history.push_back({pw::chat_turn::role::assistant, res->text});
    ++replies;
  }
}

net::awaitable<void> parley_session(const parley::http::client& c, const options& o, int s, int& replies) {
  parley::http::request tok;
  tok.method = beast::http::verb::post;
  tok.url = "http://127.0.0.1:" + std::to_string(o.gateway_port) + "/token?name=bench" + std::to_string(s);
  auto t = co_await c.fetch(tok);
  if (!t || t->status != 200) throw std::runtime_error("POST /token failed");
  std::string token(json::parse(t->body).as_object()["token"].as_string());

  auto ex = co_await net::this_coro::executor;
  beast::websocket::stream<beast::tcp_stream> ws(ex);
  co_await beast::get_lowest_layer(ws).async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"),
                                                                    static_cast<unsigned short>(o.gateway_port)),
                                                     net::use_awaitable);
  // Each frame is one small write: without TCP_NODELAY it would wait for the previous one's ACK.
  beast::get_lowest_layer(ws).socket().set_option(tcp::no_delay(true));
  co_await ws.async_handshake("127.0.0.1:" + std::to_string(o.gateway_port), "/chat?token=" + token, net::use_awaitable);
  beast::flat_buffer buf;
  for (int r = 0; r < o.rounds; ++r) {
    json::object msg{{"type", "message"}, {"text", prompt(s, r)}};
    co_await ws.async_write(net::buffer(json::serialize(msg)), net::use_awaitable);
    while (true) {
      buf.clear();
      co_await ws.async_read(buf, net::use_awaitable);
      auto f = json::parse(beast::buffers_to_string(buf.data())).as_object();
      auto type = f["type"].as_string();
      if (type == "reply_end") break;
      if (type == "error") throw std::runtime_error("error frame: " + json::serialize(f));
    }
    ++replies;
  }
  co_await ws.async_close(beast::websocket::close_code::normal, net::use_awaitable);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-bench-remote: tokens/s through Parley's openai backend vs llama-server directly"};
  options o;
  app.add_option("--llama-url", o.llama_url, "llama-server base URL (started with --metrics)")->capture_default_str();
  app.add_option("--gateway-port", o.gateway_port, "Drive Parley through this gateway port");
  app.add_flag("--direct", o.direct, "Drive llama-server directly with a bare streaming client");
  app.add_option("--sessions", o.sessions, "Concurrent sessions")->capture_default_str();
  app.add_option("--rounds", o.rounds, "Messages per session, one after another")->capture_default_str();
  app.add_option("--max-new-tokens", o.max_new_tokens, "Reply length bound (direct mode; Parley's is the worker's)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.direct == (o.gateway_port != 0)) {
    std::cerr << "give exactly one of --direct or --gateway-port\n";
    return 2;
  }
  auto client = parley::http::client::create({}).value();
  pw::remote::openai_config cfg;
  cfg.base_url = o.llama_url;
  cfg.max_in_flight = static_cast<std::size_t>(o.sessions);
  auto backend = pw::remote::openai_backend::create(cfg).value();

  const double before = tokens_predicted(client, o.llama_url);
  int replies = 0;
  net::io_context ioc(1);
  std::exception_ptr failure;
  for (int s = 0; s < o.sessions; ++s) {
    auto task = o.direct ? direct_session(*backend, o, s, replies) : parley_session(client, o, s, replies);
    net::co_spawn(ioc, std::move(task), [&](std::exception_ptr e) {
      if (e && !failure) failure = e;
    });
  }
  auto start = std::chrono::steady_clock::now();
  ioc.run();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      std::cerr << "bench failed: " << e.what() << "\n";
      return 1;
    }
  }
  const double tokens = tokens_predicted(client, o.llama_url) - before;
  json::object out{{"mode", o.direct ? "direct" : "parley"}, {"sessions", o.sessions}, {"replies", replies},
                   {"tokens", tokens}, {"seconds", seconds}, {"tokens_per_s", tokens / seconds}};
  std::cout << json::serialize(out) << std::endl;
  return 0;
}
