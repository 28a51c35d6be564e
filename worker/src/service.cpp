#include <parley/metrics_server.hpp>
#include <parley/worker/service.hpp>

#include <parley/keys.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <random>

namespace parley::worker {

namespace {

// The lease owner is unique per process even when an operator reuses a consumer name for a
// restarted worker, so a new incarnation never mistakes its predecessor's lease for its own.
std::string lease_owner(const std::string& consumer) {
  std::random_device rd;
  char nonce[9];
  std::snprintf(nonce, sizeof nonce, "%08x", static_cast<unsigned>(rd()));
  return consumer + "/" + nonce;
}

redis::config with_name(redis::config c, const std::string& name) {
  c.client_name = name;
  return c;
}

redis::config for_blocking_reads(redis::config c, const worker_config& cfg, const std::string& name) {
  c.client_name = name;
  // XREADGROUP BLOCK holds the reply back for up to read_block: that is not a timeout.
  c.command_timeout += cfg.read_block;
  return c;
}

}  // namespace

service::service(net::io_context& io, const worker_config& cfg, redis::config redis, backend& model)
    : io_(io),
      cfg_(cfg),
      consumer_(consumer_name(cfg)),
      shared_(io.get_executor(), with_name(redis, "parley-worker:" + consumer_)),
      reader_(io.get_executor(), for_blocking_reads(redis, cfg, "parley-worker-reader:" + consumer_)),
      stops_(io.get_executor(), with_name(redis, "parley-worker-stops:" + consumer_)),
      model_(model),
      store_(shared_, cfg, lease_owner(consumer_), metrics_),
      queue_(reader_, shared_, cfg, consumer_, metrics_),
      runner_(io.get_executor(), cfg, store_, queue_, model, turns_, metrics_),
      slot_freed_(io),
      claim_timer_(io),
      presence_timer_(io),
      idle_(io) {}

service::~service() = default;

std::uint16_t service::metrics_port() const noexcept { return metrics_server_ ? metrics_server_->port() : 0; }

net::awaitable<void> service::run() {
  shared_.start();
  reader_.start();
  stops_.on_message([this](std::string_view, std::string_view payload) { on_stop_message(payload); });
  stops_.start();
  stops_.subscribe(std::string(keys::stop_channel));

  if (cfg_.metrics_port != 0) {
    metrics_server_ = std::make_unique<metrics_server>(
        io_.get_executor(),
        metrics_server::options{cfg_.metrics_host, cfg_.metrics_port, cfg_.metrics_idle_timeout, "parley-worker"},
        [this](std::string& out) {
          metrics_.write(out);
          model_.write_metrics(out);
        });
    if (auto ec = metrics_server_->start()) {
      spdlog::error("metrics endpoint {}:{}: {}", cfg_.metrics_host, cfg_.metrics_port, ec.message());
      metrics_server_.reset();
    } else {
      spdlog::info("metrics on http://{}:{}/metrics", cfg_.metrics_host, metrics_server_->port());
    }
  }

  auto tuple = net::as_tuple(net::use_awaitable);
  for (int tries = 1; !stopping_; ++tries) {
    auto group = co_await queue_.ensure_group();
    if (group) break;
    // The first try usually races the initial connect: only report a failure that persists.
    if (tries > 1) spdlog::warn("creating consumer group {}: {}; retrying", keys::workers_group, group.error().message());
    claim_timer_.expires_after(cfg_.redis_retry);
    co_await claim_timer_.async_wait(tuple);
  }
  spdlog::info("worker {} consuming {} (group {}, up to {} sessions at once)", consumer_, keys::requests_stream,
               keys::workers_group, cfg_.max_concurrent_turns);

  using namespace net::experimental::awaitable_operators;
  co_await (consume() && claim() && announce());

  // Shutdown: running turns get the grace period, then are handed back.
  if (busy_ > 0) {
    spdlog::info("waiting up to {} ms for {} session(s) to finish", cfg_.shutdown_grace.count(), busy_);
    idle_.expires_after(cfg_.shutdown_grace);
    co_await idle_.async_wait(tuple);
  }
  if (busy_ > 0) {
    spdlog::info("handing {} session(s) back to other workers", busy_);
    turns_.stop_all(stop_cause::shutdown);
    while (busy_ > 0) {
      idle_.expires_at(net::steady_timer::time_point::max());
      co_await idle_.async_wait(tuple);
    }
  }
  if (metrics_server_) metrics_server_->stop();
  stops_.stop();
  reader_.stop();
  shared_.stop();
  spdlog::info("worker {} stopped", consumer_);
}

void service::on_config_error(std::function<void(boost::system::error_code)> fn) {
  shared_.on_config_error(fn);
  reader_.on_config_error(std::move(fn));
}

void service::shutdown(bool immediate) {
  net::post(io_, [this, immediate] {
    if (!stopping_) {
      stopping_ = true;
      runner_.begin_shutdown();
      slot_freed_.cancel();
      claim_timer_.cancel();
      presence_timer_.cancel();
    }
    if (immediate) {
      turns_.stop_all(stop_cause::shutdown);
      idle_.cancel();
    }
  });
}

net::awaitable<void> service::wait_for_slot() {
  while (busy_ >= cfg_.max_concurrent_turns && !stopping_) {
    slot_freed_.expires_at(net::steady_timer::time_point::max());
    co_await slot_freed_.async_wait(net::as_tuple(net::use_awaitable));
  }
}

net::awaitable<void> service::consume() {
  auto tuple = net::as_tuple(net::use_awaitable);
  net::steady_timer pause(io_);
  bool reported = false;
  while (!stopping_) {
    co_await wait_for_slot();
    if (stopping_) break;
    auto entries = co_await queue_.read(cfg_.max_concurrent_turns - busy_);
    if (!entries) {
      if (!reported) spdlog::warn("reading {}: {}; retrying", keys::requests_stream, entries.error().message());
      reported = true;
      pause.expires_after(cfg_.redis_retry);
      co_await pause.async_wait(tuple);
      continue;
    }
    if (reported) spdlog::info("reading {} again", keys::requests_stream);
    reported = false;
    for (auto& e : *entries) {
      if (stopping_) {
        // Read while shutting down: give it straight back so another worker reads it now.
        co_await queue_.requeue(e);
      } else {
        start(std::move(e));
      }
    }
  }
}

net::awaitable<void> service::claim() {
  auto tuple = net::as_tuple(net::use_awaitable);
  while (!stopping_) {
    claim_timer_.expires_after(cfg_.claim_interval);
    co_await claim_timer_.async_wait(tuple);
    if (stopping_) continue;
    // Not inside the if: g++ 12 miscompiles some co_await expressions in conditions.
    auto upkeep = co_await queue_.maintain();
    if (upkeep && upkeep->consumers_removed > 0)
      spdlog::info("removed {} consumer(s) of gone workers from {}", upkeep->consumers_removed, keys::workers_group);
    const int free = cfg_.max_concurrent_turns - busy_;
    if (stopping_ || free <= 0) continue;
    auto entries = co_await queue_.autoclaim(free);
    if (!entries) continue;
    for (auto& e : *entries) {
      spdlog::info("took over request {} (session {}, seq {})", e.id, e.token.substr(0, 8), e.seq);
      if (stopping_) {
        co_await queue_.requeue(e);
      } else {
        start(std::move(e));
      }
    }
  }
}

net::awaitable<void> service::announce() {
  auto tuple = net::as_tuple(net::use_awaitable);
  const std::string key(keys::workers_presence);
  bool reported = false;
  while (!stopping_) {
    using namespace std::chrono;
    const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
    // One key, one slot: renew ours and drop records of workers that died without removing theirs.
    std::vector<redis::command> cmds{{"ZADD", key, std::to_string(now + cfg_.presence_ttl.count()), consumer_},
                                     {"ZREMRANGEBYSCORE", key, "-inf", "(" + std::to_string(now)}};
    auto r = co_await shared_.exec_pipeline(std::move(cmds));
    if (!r && !reported) spdlog::warn("presence record not renewed: {}", r.error().message());
    reported = !r;
    presence_timer_.expires_after(cfg_.presence_ttl / 3);
    co_await presence_timer_.async_wait(tuple);
  }
  redis::command leave{"ZREM", key, consumer_};
  co_await shared_.exec(std::move(leave));
}

void service::start(request_entry e) {
  ++busy_;
  net::co_spawn(io_, runner_.handle(std::move(e)), [this](std::exception_ptr ep, session_outcome) {
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& ex) {
        spdlog::error("session task failed: {}", ex.what());
      }
    }
    --busy_;
    slot_freed_.cancel();
    if (stopping_ && busy_ == 0) idle_.cancel();
  });
}

void service::on_stop_message(std::string_view payload) {
  // Payload: "<token> <user message id>".
  auto space = payload.find(' ');
  if (space == std::string_view::npos || space == 0 || space + 1 == payload.size()) {
    spdlog::warn("ignoring malformed stop message on {}", keys::stop_channel);
    return;
  }
  net::post(io_, [this, token = std::string(payload.substr(0, space)),
                  id = std::string(payload.substr(space + 1))] {
    if (turns_.stop(token, id)) spdlog::info("stopping reply to message {}", id);
  });
}

}  // namespace parley::worker
