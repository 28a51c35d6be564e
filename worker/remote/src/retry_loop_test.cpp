#include <parley/worker/remote/retry_loop.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <vector>

namespace parley::worker::remote {
namespace {

using namespace std::chrono_literals;
using kind = attempt_verdict::kind;

// Runs with_retries over a script of verdicts on a fresh io_context, within a deadline.
struct scripted {
  explicit scripted(std::vector<attempt_verdict> v) : verdicts(std::move(v)) {}
  std::vector<attempt_verdict> verdicts;
  int attempts = 0;
  std::vector<milliseconds> delays;
  attempt_verdict run(const retry_policy& p, std::stop_source* stop = nullptr) {
    boost::asio::io_context ioc;
    backoff_source backoff;
    std::stop_source own;
    auto& src = stop ? *stop : own;
    auto one = [this, &src](int n) -> boost::asio::awaitable<attempt_verdict> {
      attempts = n;
      auto v = verdicts.at(static_cast<std::size_t>(n - 1));
      if (v.what == kind::cancelled) src.request_stop();  // the script's way to stop during a wait
      co_return v.what == kind::cancelled ? attempt_verdict{kind::retry, {}, {}} : v;
    };
    auto on_retry = [this](int, const attempt_verdict&, milliseconds d) { delays.push_back(d); };
    auto fut = boost::asio::co_spawn(ioc, with_retries(p, backoff, src.get_token(), one, on_retry),
                                     boost::asio::use_future);
    ioc.run_for(10s);
    EXPECT_EQ(fut.wait_for(0s), std::future_status::ready) << "the loop did not finish";
    return fut.get();
  }
};

retry_policy quick() {
  retry_policy p;
  p.max_attempts = 3;
  p.initial_backoff = 1ms;
  p.max_backoff = 4ms;
  p.max_retry_after = 50ms;
  return p;
}

const auto transient = make_error_code(boost::system::errc::connection_refused);

TEST(with_retries, retries_until_an_attempt_is_done) {
  scripted s{{{kind::retry, transient, {}}, {kind::retry, transient, {}}, {kind::done, {}, {}}}};
  EXPECT_EQ(s.run(quick()).what, kind::done);
  EXPECT_EQ(s.attempts, 3);
  ASSERT_EQ(s.delays.size(), 2u);
  for (auto d : s.delays) EXPECT_LE(d, 4ms);
}

TEST(with_retries, gives_up_after_max_attempts_with_the_last_error) {
  scripted s{{{kind::retry, transient, {}}, {kind::retry, transient, {}}, {kind::retry, transient, {}}}};
  const auto v = s.run(quick());
  EXPECT_EQ(v.what, kind::fail);
  EXPECT_EQ(v.ec, transient);
  EXPECT_EQ(s.attempts, 3);
}

TEST(with_retries, a_failure_for_good_is_not_retried) {
  scripted s{{{kind::fail, transient, {}}}};
  EXPECT_EQ(s.run(quick()).what, kind::fail);
  EXPECT_EQ(s.attempts, 1);
}

TEST(with_retries, honours_retry_after_and_refuses_to_wait_longer_than_the_policy) {
  scripted honoured{{{kind::retry, transient, 20ms}, {kind::done, {}, {}}}};
  EXPECT_EQ(honoured.run(quick()).what, kind::done);
  EXPECT_EQ(honoured.delays, std::vector<milliseconds>{20ms});
  scripted too_long{{{kind::retry, transient, 51ms}}};
  EXPECT_EQ(too_long.run(quick()).what, kind::fail);
  EXPECT_EQ(too_long.attempts, 1);
}

TEST(with_retries, a_stop_during_the_wait_cancels) {
  auto p = quick();
  p.initial_backoff = p.max_backoff = 5000ms;
  scripted s{{{kind::cancelled, {}, {}}, {kind::done, {}, {}}}};
  std::stop_source stop;
  EXPECT_EQ(s.run(p, &stop).what, kind::cancelled);
  EXPECT_EQ(s.attempts, 1);
}

TEST(worth_another, counts_attempts_and_bounds_the_wait) {
  const auto p = quick();
  EXPECT_TRUE(worth_another(p, 1, std::nullopt));
  EXPECT_TRUE(worth_another(p, 2, 50ms));
  EXPECT_FALSE(worth_another(p, 3, std::nullopt));
  EXPECT_FALSE(worth_another(p, 1, 51ms));
}

}  // namespace
}  // namespace parley::worker::remote
