// Guards the worker's use of Asio's awaitable operators in member coroutines (service::run:
// consume() && claim(); session_runner: generate() && write()), plus || over a connection's loops,
// on g++ 12: every frame ends exactly once, with its object and locals intact. It also runs clean
// under -fsanitize=address,undefined (g++ 12.2, Debian 12; Boost 1.81).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;
using namespace net::experimental::awaitable_operators;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// Counts live instances; a destructor run twice, or on a dead object, trips the size check.
struct tracked {
  static inline int live = 0;
  std::string payload = std::string(64, 'x');
  tracked() { ++live; }
  tracked(const tracked& o) : payload(o.payload) { ++live; }
  ~tracked() {
    EXPECT_EQ(payload.size(), 64u) << "destroyed twice or after its frame died";
    payload.clear();
    --live;
  }
};

// service::run: two member loops on timers, joined by &&, ended by a posted flag.
struct service {
  net::steady_timer a, b;
  bool stopping = false;
  int loops = 0;
  explicit service(net::io_context& io) : a(io), b(io) {}
  net::awaitable<void> consume() {
    tracked t;
    while (!stopping) {
      a.expires_after(1ms);
      co_await a.async_wait(use_tuple);
      tracked copy = t;
      ++loops;
    }
  }
  net::awaitable<void> claim() {
    tracked t;
    while (!stopping) {
      b.expires_after(2ms);
      co_await b.async_wait(use_tuple);
      ++loops;
    }
  }
  net::awaitable<int> run() {
    tracked t;
    co_await (consume() && claim());
    co_return loops;
  }
};

// session_runner::answer_turn: two local lambdas capturing the frame's locals by reference,
// joined by && inside a member coroutine, each returning a value.
struct runner {
  net::io_context& io;
  int turns = 0;
  explicit runner(net::io_context& io) : io(io) {}
  net::awaitable<std::size_t> turn(int pieces) {
    tracked guard;
    std::string text;
    net::steady_timer gen_timer(io), write_timer(io);
    auto generate = [&]() -> net::awaitable<std::string> {
      tracked t;
      for (int i = 0; i < pieces; ++i) {
        gen_timer.expires_after(std::chrono::microseconds(100 * (i % 3)));
        co_await gen_timer.async_wait(use_tuple);
        text += 'x';
      }
      co_return text;
    };
    auto write = [&]() -> net::awaitable<bool> {
      tracked t;
      for (int i = 0; i < pieces / 2; ++i) {
        write_timer.expires_after(150us);
        co_await write_timer.async_wait(use_tuple);
      }
      co_return true;
    };
    auto [generated, written] = co_await (generate() && write());
    ++turns;
    co_return generated.size() + (written ? 1 : 0);
  }
};

// Counts a frame's end however it comes: by co_return, or by the operation_aborted that Asio
// throws into a loser of || whose cancellation came before its first wait.
struct counts_end {
  int& ends;
  ~counts_end() { ++ends; }
};

// The connection loops as || once had them: the first loop to end cancels the others.
struct connection : std::enable_shared_from_this<connection> {
  net::steady_timer wake, watchdog;
  net::ip::tcp::socket socket;
  int ended = 0;
  explicit connection(net::io_context& io) : wake(io), watchdog(io), socket(io) {}
  net::awaitable<void> writer() {
    counts_end end{ended};
    tracked t;
    for (;;) {
      wake.expires_after(5ms);
      auto [ec] = co_await wake.async_wait(use_tuple);
      if (ec) break;
    }
  }
  net::awaitable<void> dog(std::chrono::milliseconds after) {
    counts_end end{ended};
    tracked t;
    watchdog.expires_after(after);
    co_await watchdog.async_wait(use_tuple);
  }
  net::awaitable<void> reader() {
    counts_end end{ended};
    tracked t;
    char buf[16];
    co_await socket.async_read_some(net::buffer(buf), use_tuple);
  }
  net::awaitable<void> run(std::chrono::milliseconds after) {
    // A member coroutine starts lazily and holds only `this`: the object stays alive through it.
    auto self = shared_from_this();
    socket.open(net::ip::tcp::v4());
    co_await (writer() || dog(after) || reader());
  }
};

TEST(awaitable_operators, member_coroutines_end_once_with_their_objects_intact) {
  for (int round = 0; round < 40; ++round) {
    net::io_context io;
    auto svc = std::make_unique<service>(io);
    runner rn(io);
    int loops = -1;
    int turns_done = 0;
    std::size_t lengths = 0;
    net::co_spawn(io, svc->run(), [&](std::exception_ptr e, int r) {
      EXPECT_FALSE(e);
      loops = r;
    });
    net::steady_timer stop(io, std::chrono::milliseconds(5 + round % 7));
    stop.async_wait([&](auto) {
      net::post(io, [&] {
        svc->stopping = true;
        svc->a.cancel();
        svc->b.cancel();
      });
    });
    for (int i = 0; i < 8; ++i) {
      net::co_spawn(io, rn.turn(10 + i), [&](std::exception_ptr e, std::size_t n) {
        EXPECT_FALSE(e);
        lengths += n;
        ++turns_done;
      });
    }
    std::vector<std::shared_ptr<connection>> conns;
    for (int i = 0; i < 4; ++i) {
      auto c = std::make_shared<connection>(io);
      conns.push_back(c);
      net::co_spawn(io, [c, after = std::chrono::milliseconds(1 + (round + i) % 4)] { return c->run(after); },
                    net::detached);
    }
    io.run_for(20s);
    ASSERT_TRUE(io.stopped()) << "round " << round << " missed its deadline";
    EXPECT_GE(loops, 0);
    EXPECT_EQ(turns_done, 8);
    EXPECT_EQ(rn.turns, 8);
    EXPECT_EQ(lengths, 8u * 10 + 28 + 8);  // each turn: its pieces, plus one for the write
    // || cancels the loops that did not finish first: each of them still ends exactly once.
    for (auto& c : conns) EXPECT_EQ(c->ended, 3);
    svc.reset();
    conns.clear();
    EXPECT_EQ(tracked::live, 0) << "round " << round;
  }
}

}  // namespace
