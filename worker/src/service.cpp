#include <parley/metrics_server.hpp>
#include <parley/worker/service.hpp>

#include <parley/keys.hpp>
#include <parley/request_shards.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
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

std::vector<std::unique_ptr<redis::client>> make_readers(net::io_context& io, const worker_config& cfg,
                                                       const redis::config& redis, const std::string& consumer) {
  std::vector<std::unique_ptr<redis::client>> out;
  for (int shard = 0; shard < cfg.request_shards; ++shard) {
    auto name = "parley-worker-reader:" + consumer;
    if (cfg.request_shards > 1) name += ":" + std::to_string(shard);
    out.push_back(std::make_unique<redis::client>(io.get_executor(), for_blocking_reads(redis, cfg, name)));
  }
  return out;
}

std::vector<redis::client*> pointers(const std::vector<std::unique_ptr<redis::client>>& clients) {
  std::vector<redis::client*> out;
  for (const auto& c : clients) out.push_back(c.get());
  return out;
}

}  // namespace

service::service(net::io_context& io, const worker_config& cfg, redis::config redis, backend& model)
    : io_(io),
      cfg_(cfg),
      consumer_(consumer_name(cfg)),
      shared_(io.get_executor(), with_name(redis, "parley-worker:" + consumer_)),
      readers_(make_readers(io, cfg, redis, consumer_)),
      stops_(io.get_executor(), with_name(redis, "parley-worker-stops:" + consumer_)),
      model_(model),
      store_(shared_, cfg, lease_owner(consumer_), metrics_),
      queue_(pointers(readers_), shared_, cfg, consumer_, metrics_),
      runner_(io.get_executor(), cfg, store_, queue_, model, turns_, metrics_),
      budget_(cfg.max_concurrent_turns),
      claim_due_(static_cast<std::size_t>(cfg.request_shards), false),
      reader_states_(static_cast<std::size_t>(cfg.request_shards)),
      slot_freed_(io, net::steady_timer::time_point::max()),
      claim_timer_(io),
      presence_timer_(io),
      idle_(io) {}

service::~service() = default;

std::uint16_t service::metrics_port() const noexcept { return metrics_server_ ? metrics_server_->port() : 0; }

net::awaitable<void> service::run() {
  shared_.start();
  for (auto& r : readers_) r->start();
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
    auto group = co_await queue_.ensure_groups();
    if (group) break;
    // The first try usually races the initial connect: only report a failure that persists.
    if (tries > 1) spdlog::warn("creating consumer group {}: {}; retrying", keys::workers_group, group.error().message());
    claim_timer_.expires_after(cfg_.redis_retry);
    co_await claim_timer_.async_wait(tuple);
  }
  co_await check_shards();
  if (queue_.shards() == 1) {
    spdlog::info("worker {} consuming {} (group {}, up to {} sessions at once)", consumer_, queue_.stream(0),
                 keys::workers_group, cfg_.max_concurrent_turns);
  } else {
    spdlog::info("worker {} consuming {} request shards {} .. {} (group {}, up to {} sessions at once)", consumer_,
                 queue_.shards(), queue_.stream(0), queue_.stream(queue_.shards() - 1), keys::workers_group,
                 cfg_.max_concurrent_turns);
    if (cfg_.max_concurrent_turns < queue_.shards())
      spdlog::warn("--max-concurrent-turns {} is below --request-shards {}: this worker reads only {} shard(s) at a "
                   "time and turns to the others every --read-block ({} ms)",
                   cfg_.max_concurrent_turns, queue_.shards(), cfg_.max_concurrent_turns, cfg_.read_block.count());
  }

  using namespace net::experimental::awaitable_operators;
  co_await (consume_all() && claim() && announce());

  // Shutdown: running turns get the grace period, then are handed back.
  if (budget_.busy() > 0) {
    spdlog::info("waiting up to {} ms for {} session(s) to finish", cfg_.shutdown_grace.count(), budget_.busy());
    idle_.expires_after(cfg_.shutdown_grace);
    co_await idle_.async_wait(tuple);
  }
  if (budget_.busy() > 0) {
    spdlog::info("handing {} session(s) back to other workers", budget_.busy());
    turns_.stop_all(stop_cause::shutdown);
    while (budget_.busy() > 0) {
      idle_.expires_at(net::steady_timer::time_point::max());
      co_await idle_.async_wait(tuple);
    }
  }
  if (metrics_server_) metrics_server_->stop();
  stops_.stop();
  for (auto& r : readers_) r->stop();
  shared_.stop();
  spdlog::info("worker {} stopped", consumer_);
}

void service::on_config_error(std::function<void(std::string)> fn) {
  config_error_ = fn;
  auto redis_error = [fn = std::move(fn)](boost::system::error_code ec) { fn("--redis-url: " + ec.message()); };
  shared_.on_config_error(redis_error);
  for (auto& r : readers_) r->on_config_error(redis_error);
}

net::awaitable<void> service::check_shards() {
  auto verdict = co_await check_request_shards(shared_, cfg_.request_shards);
  if (!verdict || !*verdict) co_return;
  if (config_error_) config_error_(**verdict);
}

void service::shutdown(bool immediate) {
  net::post(io_, [this, immediate] {
    if (!stopping_) {
      stopping_ = true;
      runner_.begin_shutdown();
      wake_slot_waiters();
      claim_timer_.cancel();
      presence_timer_.cancel();
    }
    if (immediate) {
      turns_.stop_all(stop_cause::shutdown);
      idle_.cancel();
    }
  });
}

net::awaitable<int> service::wait_for_slots(int shard) {
  while (!stopping_) {
    if (const int count = budget_.reserve(idle_readers_); count > 0) co_return count;
    if (reader_states_[static_cast<std::size_t>(shard)].hungry) {
      // preempt_for awaits Redis: a slot freed meanwhile woke nobody, so check again then.
      const auto before = slots_freed_;
      const bool unblocked = co_await preempt_for(shard);
      if (unblocked || slots_freed_ != before) continue;
    }
    // Several readers wait here at once: re-arming (expires_at) would cancel the others' waits,
    // and they would wake each other in a loop. The expiry stays at max; cancel() wakes them all.
    co_await slot_freed_.async_wait(net::as_tuple(net::use_awaitable));
  }
  co_return 0;
}

net::awaitable<bool> service::preempt_for(int shard) {
  for (std::size_t i = 0; i < reader_states_.size(); ++i) {
    auto& other = reader_states_[i];
    if (static_cast<int>(i) == shard || !other.blocked || other.unblocking || !other.client_id) continue;
    other.unblocking = true;
    auto done = co_await queue_.unblock(static_cast<int>(i), *other.client_id);
    spdlog::debug("shard {} reader unblocks shard {} reader (client {}): {}", shard, i, *other.client_id,
                  done ? std::to_string(*done) : done.error().message());
    if (done && *done == 1) co_return true;
    // Not blocked after all (its read just returned), or the id is of a connection that was
    // replaced (a new one has a new id): it fetches its id again before its next read.
    if (done && other.blocked) other.client_id.reset();
  }
  co_return false;
}

net::awaitable<void> service::consume_all() {
  int running = queue_.shards();
  // Every reader counts as idle from the start, so the first to run does not take every slot.
  idle_readers_ = queue_.shards();
  net::steady_timer all_done(io_, net::steady_timer::time_point::max());
  for (int shard = 0; shard < queue_.shards(); ++shard) {
    net::co_spawn(io_, consume(shard), [&running, &all_done](std::exception_ptr ep) {
      if (ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& ex) {
          spdlog::error("request reader failed: {}", ex.what());
        }
      }
      if (--running == 0) all_done.cancel();
    });
  }
  while (running > 0) co_await all_done.async_wait(net::as_tuple(net::use_awaitable));
}

net::awaitable<void> service::consume(int shard) {
  auto tuple = net::as_tuple(net::use_awaitable);
  net::steady_timer pause(io_);
  bool reported = false;
  while (!stopping_) {
    const int count = co_await wait_for_slots(shard);
    if (count == 0) break;
    --idle_readers_;
    auto& state = reader_states_[static_cast<std::size_t>(shard)];
    if (claim_due_[static_cast<std::size_t>(shard)]) {
      const int claimed = co_await claim_for(shard, count);
      settled(count, claimed);
      continue;
    }
    if (!state.client_id && queue_.shards() > 1) {
      // Only readers of several shards are ever unblocked by another. Without its id this reader
      // would block (up to read_block) where no other can reach it: like a failed read, the
      // slots go back and it tries again after redis_retry.
      auto id = co_await queue_.reader_id(shard);
      if (!id) {
        settled(count, 0);
        pause.expires_after(cfg_.redis_retry);
        co_await pause.async_wait(tuple);
        continue;
      }
      state.client_id = *id;
    }
    state.blocked = true;
    auto entries = co_await queue_.read(shard, count);
    state.blocked = false;
    state.unblocking = false;
    const int got = entries ? static_cast<int>(entries->size()) : 0;
    // Work came from this shard: more may follow (a burst, the next turn), so this reader may
    // take a slot from a reader blocked on a quiet shard. A read that comes back empty (its
    // block timed out, or another reader unblocked it) gives that up.
    state.hungry = got > 0;
    settled(count, got);
    // Slots came back: readers waiting for one get the first turn at them, so that with fewer
    // slots than shards every shard is read in turn.
    if (got < count) co_await net::post(io_, net::use_awaitable);
    if (!entries) {
      if (!reported)
        spdlog::warn("reading {}: {}; retrying", queue_.stream(shard), entries.error().message());
      reported = true;
      pause.expires_after(cfg_.redis_retry);
      co_await pause.async_wait(tuple);
      continue;
    }
    if (reported) spdlog::info("reading {} again", queue_.stream(shard));
    reported = false;
    for (auto& e : *entries) {
      if (stopping_) {
        // Read while shutting down: give it straight back so another worker reads it now.
        co_await queue_.requeue(e);
        finished();
      } else {
        start(std::move(e));
      }
    }
  }
  --idle_readers_;
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
    co_await check_shards();
    // Each shard's reader claims for its shard before its next read: the slots a claim may fill
    // are those the reader holds, so claims and reads together never exceed the free slots.
    std::fill(claim_due_.begin(), claim_due_.end(), true);
  }
}

net::awaitable<int> service::claim_for(int shard, int count) {
  claim_due_[static_cast<std::size_t>(shard)] = false;
  auto entries = co_await queue_.autoclaim(shard, count);
  if (!entries) co_return 0;
  for (auto& e : *entries) {
    spdlog::info("took over request {} (session {}, seq {})", e.id, e.token.substr(0, 8), e.seq);
    if (stopping_) {
      co_await queue_.requeue(e);
    } else {
      start(std::move(e));
    }
  }
  co_return stopping_ ? 0 : static_cast<int>(entries->size());
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
  net::co_spawn(io_, runner_.handle(std::move(e)), [this](std::exception_ptr ep, session_outcome) {
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& ex) {
        spdlog::error("session task failed: {}", ex.what());
      }
    }
    finished();
  });
}

void service::settled(int count, int got) {
  ++idle_readers_;
  budget_.settle(count, got);
  if (got < count) wake_slot_waiters();
}

void service::wake_slot_waiters() {
  ++slots_freed_;
  slot_freed_.cancel();
}

void service::finished() {
  budget_.finish();
  wake_slot_waiters();
  if (stopping_ && budget_.busy() == 0) idle_.cancel();
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
