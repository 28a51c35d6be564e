#include <parley/redis/client.hpp>

#include "completion.hpp"
#include "connection.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>

namespace parley::redis {

namespace {
using boost::system::error_code;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

}  // namespace

// Invariants (all state touched on strand_ only): `queue_` holds encoded requests not yet
// written; `inflight_` holds written requests in write order, so replies match front to back.
// A request is completed exactly once: by its replies, or by the failure of its connection.
class client_impl : public detail::connection_base<client_impl> {
 public:
  client_impl(net::any_io_executor ex, config cfg)
      : connection_base(std::move(ex), std::move(cfg), "redis"), watchdog_(strand_) {}

  template <class Token>
  auto async_exec(std::vector<command> cmds, Token&& token) {
    return net::async_initiate<Token, void(error_code, std::vector<value>)>(
        [self = shared_from_this()](auto handler, std::vector<command> cmds) {
          request req;
          for (const auto& c : cmds) detail::encode(c, req.bytes);
          req.expected = cmds.size();
          req.complete = detail::bind_completion<error_code, std::vector<value>>(std::move(handler), self->strand_);
          net::dispatch(self->strand_, [self, req = std::move(req)]() mutable { self->submit(std::move(req)); });
        },
        token, std::move(cmds));
  }

  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }

 private:
  friend class detail::connection_base<client_impl>;

  struct request {
    std::string bytes;
    std::size_t expected = 0;
    std::vector<value> replies;
    detail::unique_function<void(error_code, std::vector<value>)> complete;
    clock::time_point deadline;
  };

  void submit(request req) {
    if (req.expected == 0) return req.complete({}, {});
    if (stopped_) return req.complete(errc::shut_down, {});
    if (!connected()) return req.complete(errc::not_connected, {});
    if (queue_.size() >= cfg_.max_queued) return req.complete(errc::overloaded, {});
    queue_.push_back(std::move(req));
    wake_.cancel();
  }

  void fail_all(errc first_inflight, errc rest) {
    auto inflight = std::move(inflight_);
    auto queued = std::move(queue_);
    inflight_.clear();
    queue_.clear();
    bool first = true;
    for (auto& r : inflight) {
      r.complete(first ? first_inflight : rest, {});
      first = false;
    }
    for (auto& r : queued) r.complete(errc::not_connected, {});
  }

  void on_open() {
    if (on_connect_) on_connect_();
  }
  void on_teardown() { watchdog_.cancel(); }
  void on_lost() { fail_all(timed_out_ ? errc::timeout : errc::connection_lost, errc::connection_lost); }
  void on_stopped() {
    watchdog_.cancel();
    fail_all(errc::shut_down, errc::shut_down);
  }

  loops_type connection_loops() {
    loops_type loops;
    loops.push_back([this] { return write_loop(); });
    loops.push_back([this] { return watchdog_loop(); });
    return loops;
  }

  bool on_reply(value v) {
    if (inflight_.empty()) return false;  // a reply nobody asked for
    auto& front = inflight_.front();
    front.replies.push_back(std::move(v));
    if (front.replies.size() == front.expected) {
      request done = std::move(front);
      inflight_.pop_front();
      done.complete({}, std::move(done.replies));
    }
    return true;
  }

  net::awaitable<void> write_loop() {
    std::string out;
    for (;;) {
      if (queue_.empty()) {
        wake_.expires_at(clock::time_point::max());
        co_await wake_.async_wait(use_tuple);
        if (closing_) co_return;
        continue;
      }
      out.clear();
      bool was_idle = inflight_.empty();
      auto deadline = clock::now() + cfg_.command_timeout;
      while (!queue_.empty()) {
        auto& r = queue_.front();
        out += r.bytes;
        r.bytes.clear();
        r.bytes.shrink_to_fit();
        r.deadline = deadline;
        inflight_.push_back(std::move(r));
        queue_.pop_front();
      }
      if (was_idle) watchdog_.cancel();
      auto [ec, n] = co_await net::async_write(socket_, net::buffer(out), use_tuple);
      if (ec) co_return;
      if (out.capacity() > 1024 * 1024) out = std::string{};
    }
  }

  net::awaitable<void> watchdog_loop() {
    for (;;) {
      if (inflight_.empty()) watchdog_.expires_at(clock::time_point::max());
      else watchdog_.expires_at(inflight_.front().deadline);
      co_await watchdog_.async_wait(use_tuple);
      if (closing_) co_return;
      if (!inflight_.empty() && inflight_.front().deadline <= clock::now()) {
        timed_out_ = true;
        co_return;
      }
    }
  }

  net::steady_timer watchdog_;
  std::deque<request> queue_;
  std::deque<request> inflight_;
  std::function<void()> on_connect_;
};

client::client(net::any_io_executor ex, config cfg)
    : impl_(std::make_shared<client_impl>(std::move(ex), std::move(cfg))) {}

client::~client() { impl_->stop(); }

void client::start() { impl_->start(); }
void client::stop() { impl_->stop(); }
bool client::connected() const noexcept { return impl_->connected(); }
void client::on_connect(std::function<void()> fn) { impl_->on_connect(std::move(fn)); }

net::awaitable<boost::system::result<std::vector<value>>> client::exec_pipeline(std::vector<command> cmds) {
  auto impl = impl_;
  auto [ec, replies] = co_await impl->async_exec(std::move(cmds), use_tuple);
  if (ec) co_return ec;
  co_return std::move(replies);
}

net::awaitable<boost::system::result<value>> client::exec(command cmd) {
  std::vector<command> one;
  one.push_back(std::move(cmd));
  auto r = co_await exec_pipeline(std::move(one));
  if (!r) co_return r.error();
  co_return std::move(r->front());
}

}  // namespace parley::redis
