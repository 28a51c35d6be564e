#pragma once
// Test-only helpers for the worker's delivery tests: a deterministic backend (never shipped in
// the binary), a gateway stand-in that stores messages the way the gateway's accept script
// does, and a worker service running on its own thread. Redis is a real private redis-server.
#include <parley/keys.hpp>
#include <parley/request_entry.hpp>
#include <parley/redis/client.hpp>
#include <parley/test/redis_server.hpp>
#include <parley/test/temp_dir.hpp>
#include <parley/worker/backend.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/service.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/system/errc.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace parley::worker::testing {

using namespace std::chrono_literals;

// Replies "reply N to <last user text>" (N = user turns seen), one word per piece.
class scripted_backend final : public backend {
 public:
  std::chrono::milliseconds piece_delay{5ms};
  std::atomic<int> failures_left{0};  // the next N calls fail
  std::atomic<bool> hang{false};      // after the pieces, wait until stopped

  std::string_view name() const noexcept override { return "scripted"; }

  static std::string reply_for(const generation_request& req) {
    int users = 0;
    for (const auto& t : req.history) users += t.speaker == chat_turn::role::user;
    return "reply " + std::to_string(users) + " to " + req.history.back().text;
  }

  net::awaitable<boost::system::result<generation_result>> generate(generation_request req, delta_handler on_delta,
                                                                    std::stop_token stop) override {
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(req);
    }
    const int now = ++in_flight_;
    for (int seen = max_in_flight_.load(); now > seen && !max_in_flight_.compare_exchange_weak(seen, now);) {
    }
    struct leave {
      std::atomic<int>& n;
      ~leave() { --n; }
    } guard{in_flight_};
    int left = failures_left.load();
    while (left > 0 && !failures_left.compare_exchange_weak(left, left - 1)) {
    }
    if (left > 0) co_return boost::system::errc::make_error_code(boost::system::errc::io_error);

    net::steady_timer timer(co_await net::this_coro::executor);
    generation_result out;
    const std::string reply = reply_for(req);
    std::size_t pos = 0;
    while (pos < reply.size()) {
      if (stop.stop_requested()) {
        out.reason = finish_reason::cancelled;
        co_return out;
      }
      auto next = reply.find(' ', pos + 1);
      if (next == std::string::npos) next = reply.size();
      timer.expires_after(piece_delay);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
      on_delta(std::string_view(reply).substr(pos, next - pos));
      out.text.append(reply, pos, next - pos);
      ++out.generated_tokens;
      pos = next;
    }
    while (hang && !stop.stop_requested()) {
      timer.expires_after(5ms);
      co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
    if (stop.stop_requested()) out.reason = finish_reason::cancelled;
    co_return out;
  }

  std::vector<generation_request> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int max_in_flight() const { return max_in_flight_; }

 private:
  mutable std::mutex mutex_;
  std::vector<generation_request> requests_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
};

// Short timings so that takeover and leases play out in well under a second.
inline worker_config fast_config(const std::string& name) {
  worker_config c;
  c.consumer = name;
  c.lease_ttl = 400ms;
  c.heartbeat_interval = 100ms;
  c.claim_interval = 100ms;
  c.claim_min_idle = 600ms;
  c.read_block = 200ms;
  c.retry_backoff = 20ms;
  c.redis_retry = 50ms;
  c.flush_interval = 20ms;
  c.flush_tokens = 4;
  c.metrics_port = 0;
  c.shutdown_grace = 2s;
  return c;
}

// A parley-worker service on its own io_context thread.
class running_worker {
 public:
  running_worker(worker_config cfg, const std::string& redis_url, backend& model) : cfg_(std::move(cfg)) {
    svc_ = std::make_unique<service>(io_, cfg_, redis::parse_url(redis_url).value(), model);
    net::co_spawn(io_, svc_->run(), [this](std::exception_ptr) { finished_ = true; });
    thread_ = std::thread([this] { io_.run(); });
  }
  ~running_worker() { stop(); }
  void stop(bool immediate = false) {
    if (!thread_.joinable()) return;
    svc_->shutdown(immediate);
    thread_.join();
  }
  const worker_metrics& metrics() const { return svc_->metrics(); }
  bool finished() const { return finished_; }

 private:
  worker_config cfg_;
  net::io_context io_{1};
  std::unique_ptr<service> svc_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
};

struct event {
  std::string id;
  boost::json::object body;
  std::string type() const { return std::string(body.at("type").as_string()); }
};

// What the gateway does on an accepted message (docs/design.md, "Accepting a user message").
class gateway_stand_in {
 public:
  explicit gateway_stand_in(const test::redis_server& r) : redis_(r) {}

  void create_session(const std::string& token) const {
    redis_.command({"HSET", keys::session(token), "name", "tester", "session_start", "2026-11-26T00:00:00.000Z",
                    "next_seq", "0", "done_seq", "0"});
  }

  // Stores the human message and its event; queues the request unless `queue` is false.
  // Returns the message id (the id of its `message` event).
  std::string send(const std::string& token, const std::string& text, bool queue = true) const {
    const long long seq = redis_.command({"HINCRBY", keys::session(token), "next_seq", "1"}).integer;
    boost::json::object msg{{"source", "human"}, {"msg", text}, {"timestamp", "2026-11-26T00:00:00.000Z"},
                            {"seq", seq}};
    boost::json::object ev = msg;
    ev["type"] = "message";
    const std::string id = redis_.command_str({"XADD", keys::events(token), "*", "e", boost::json::serialize(ev)});
    msg["id"] = id;
    redis_.command({"RPUSH", keys::history(token), boost::json::serialize(msg)});
    if (queue) request(token, seq, id);
    return id;
  }

  void request(const std::string& token, long long seq, const std::string& id) const {
    std::vector<std::string> cmd{"XADD", std::string(keys::requests_stream), "*"};
    for (auto& f : encode_request({token, seq, id})) cmd.push_back(std::move(f));
    redis_.command(cmd);
  }

  long long done_seq(const std::string& token) const {
    auto v = redis_.command_str({"HGET", keys::session(token), "done_seq"});
    return v.empty() ? 0 : std::stoll(v);
  }

  std::vector<event> events(const std::string& token) const {
    std::vector<event> out;
    auto r = redis_.command({"XRANGE", keys::events(token), "-", "+"});
    for (const auto& e : r.elements) {
      out.push_back({e.elements[0].str, boost::json::parse(e.elements[1].elements[1].str).as_object()});
    }
    return out;
  }

  std::vector<boost::json::object> history(const std::string& token) const {
    std::vector<boost::json::object> out;
    auto r = redis_.command({"LRANGE", keys::history(token), "0", "-1"});
    for (const auto& e : r.elements) out.push_back(boost::json::parse(e.str).as_object());
    return out;
  }

  long long pending() const {
    auto r = redis_.command({"XPENDING", std::string(keys::requests_stream), std::string(keys::workers_group)});
    return r.elements.empty() ? 0 : r.elements[0].integer;
  }

 private:
  const test::redis_server& redis_;
};

}  // namespace parley::worker::testing
