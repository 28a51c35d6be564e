#include "connect.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace parley::redis::detail {

namespace {

using boost::system::error_code;
using net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

net::awaitable<open_result> connect_and_greet(tcp::socket& socket, const config& cfg, reader& rd) {
  auto ex = co_await net::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, endpoints] = co_await resolver.async_resolve(cfg.host, std::to_string(cfg.port), use_tuple);
  if (rec) co_return open_result{rec, {}, false};
  auto [cec, ep] = co_await net::async_connect(socket, endpoints, use_tuple);
  if (cec) co_return open_result{cec, {}, false};
  socket.set_option(tcp::no_delay(true));

  std::vector<command> hello;
  if (!cfg.password.empty()) {
    if (cfg.username.empty()) hello.push_back({"AUTH", cfg.password});
    else hello.push_back({"AUTH", cfg.username, cfg.password});
  }
  // Whether this is a cluster node: a single URL may name one (the client then reads the slot
  // map), and SELECT is refused there.
  const std::size_t info_index = hello.size();
  hello.push_back({"INFO", "cluster"});
  if (cfg.db != 0) hello.push_back({"SELECT", std::to_string(cfg.db)});
  if (!cfg.client_name.empty()) hello.push_back({"CLIENT", "SETNAME", cfg.client_name});
  // AUTH, SELECT and CLIENT are served while the server loads its dataset, PING is not: a
  // connection opened then would see every command fail with LOADING, and a caller could take
  // "no such stream" for "trimmed". Not connected until loading ends.
  hello.push_back({"PING"});

  std::string out;
  for (const auto& c : hello) encode(c, out);
  auto [wec, wn] = co_await net::async_write(socket, net::buffer(out), use_tuple);
  if (wec) co_return open_result{wec, {}, false};
  std::size_t got = 0;
  std::array<char, 4096> buf;
  open_result refused;
  while (got < hello.size()) {
    auto r = rd.next();
    if (!r) co_return open_result{r.error(), {}, false};
    if (*r) {
      if (got == info_index) {
        if (auto text = (*r)->as_string()) refused.cluster_enabled = text->find("cluster_enabled:1") != std::string_view::npos;
      }
      // Every reply is read, so the first refusal is the one reported (AUTH's, typically).
      if ((*r)->is_error() && !refused.ec) {
        const bool loading = (*r)->str.starts_with("LOADING");
        refused.ec = make_error_code(loading ? errc::loading : errc::handshake_refused);
        refused.server_message = (*r)->str;
      }
      ++got;
      continue;
    }
    auto [ec, n] = co_await socket.async_read_some(net::buffer(buf), use_tuple);
    if (ec) co_return open_result{ec, {}, false};
    rd.feed({buf.data(), n});
  }
  if (refused.cluster_enabled && cfg.db != 0) {
    refused.ec = make_error_code(errc::db_on_cluster);
    refused.server_message = "database " + std::to_string(cfg.db) + " was asked of a cluster node";
  }
  co_return refused;
}

}  // namespace

net::awaitable<open_result> open_connection(tcp::socket& socket, const config& cfg, reader& rd) {
  // The deadline closes the socket, which fails whatever step is in progress. Everything runs
  // on the caller's strand, so `state->finished` is set before a late expiry can act.
  struct deadline_state {
    bool finished = false;
    bool expired = false;
  };
  auto state = std::make_shared<deadline_state>();
  net::steady_timer deadline(co_await net::this_coro::executor, cfg.connect_timeout);
  deadline.async_wait([state, &socket](error_code ec) {
    if (ec || state->finished) return;
    state->expired = true;
    error_code ignored;
    socket.close(ignored);
  });
  auto out = co_await connect_and_greet(socket, cfg, rd);
  state->finished = true;
  deadline.cancel();
  if (state->expired) co_return open_result{make_error_code(errc::timeout), {}, false};
  co_return out;
}

}  // namespace parley::redis::detail
