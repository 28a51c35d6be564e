#pragma once
// Test support (header-only): runs one coroutine on a fresh io_context with a deadline, so a
// hung test fails instead of hanging the suite.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <stdexcept>

namespace parley::http::testing {

template <class T>
T run_with_deadline(boost::asio::awaitable<T> task, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  boost::asio::io_context ioc;
  auto fut = boost::asio::co_spawn(ioc, std::move(task), boost::asio::use_future);
  ioc.run_for(deadline);
  if (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    throw std::runtime_error("test coroutine missed its deadline");
  return fut.get();
}

}  // namespace parley::http::testing
