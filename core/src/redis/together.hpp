#pragma once
// Runs a connection's loops (reader, writer, watchdog) side by side on one strand and returns
// once all of them have ended. When the first one ends, `stop` runs; it must make the others
// end promptly (close the socket, cancel their timers): the loops end by the connection's own
// teardown, which also tells the derived class (on_teardown), rather than by the per-operation
// cancellation of the awaitable operator ||.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace parley::redis::detail {

template <class Strand>
boost::asio::awaitable<void> run_together(Strand strand, std::function<void()> stop,
                                          std::vector<std::function<boost::asio::awaitable<void>()>> loops) {
  namespace net = boost::asio;
  struct state {
    explicit state(Strand s) : done(s, std::chrono::steady_clock::time_point::max()) {}
    net::steady_timer done;
    std::size_t running = 0;
    bool stopping = false;
    std::function<void()> stop;
  };
  auto st = std::make_shared<state>(strand);
  st->running = loops.size();
  st->stop = std::move(stop);
  for (auto& loop : loops) {
    net::co_spawn(
        strand,
        [st, loop = std::move(loop)]() -> net::awaitable<void> {
          co_await loop();
          if (!st->stopping) {
            st->stopping = true;
            st->stop();
          }
          if (--st->running == 0) st->done.cancel();
        },
        net::detached);
  }
  co_await st->done.async_wait(net::as_tuple(net::use_awaitable));
}

}  // namespace parley::redis::detail
