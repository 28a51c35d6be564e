#pragma once
// Test-only helpers for the Redis client's coroutine tests.
#include <parley/redis/client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <future>

namespace parley::redis::testing {

using namespace std::chrono_literals;

// ASSERT_TRUE for coroutine bodies (gtest's ASSERT_* return, which a coroutine may not): a result
// that holds no value fails the test, with its error, and ends the coroutine before any use.
#define CO_ASSERT_OK(result)                                                 \
  if (!(result)) {                                                           \
    ADD_FAILURE() << #result << " failed: " << (result).error().message();   \
    co_return;                                                               \
  }

// Runs `body` on a fresh io_context, failing the test if it takes longer than `deadline`.
template <class F>
void run_test(F body, std::chrono::seconds deadline = 20s) {
  net::io_context io;
  auto fut = net::co_spawn(io, body(io.get_executor()), net::use_future);
  io.run_for(deadline);
  ASSERT_EQ(fut.wait_for(0s), std::future_status::ready) << "test coroutine missed its deadline";
  fut.get();
}

inline net::awaitable<void> wait_connected(client& c) {
  net::steady_timer t(co_await net::this_coro::executor);
  for (int i = 0; i < 200 && !c.connected(); ++i) {
    t.expires_after(10ms);
    co_await t.async_wait(net::use_awaitable);
  }
}

inline net::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  net::steady_timer t(co_await net::this_coro::executor, d);
  co_await t.async_wait(net::use_awaitable);
}

}  // namespace parley::redis::testing
