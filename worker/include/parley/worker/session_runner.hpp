#pragma once
// Answers sessions: for one request entry, takes the session lease, answers every unanswered
// user message of the session in seq order (each prompt holding every earlier turn), then
// releases the lease and acknowledges the entry. docs/design.md ("Answering") is the protocol.
//
// Thread-safety: all of it runs on one io_context thread (the backend runs inference on its own
// threads and completes on this executor).
#include <parley/worker/backend.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/events.hpp>
#include <parley/worker/request_queue.hpp>
#include <parley/worker/running_turn.hpp>
#include <parley/worker/session_store.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <memory>

namespace parley::worker {

class worker_metrics;

enum class session_outcome {
  released,     // every message answered; lease released, entry acked
  lease_busy,   // another worker (or another task here) holds the session; entry acked or left
  lease_lost,   // the lease expired under us; the entry stays pending for XAUTOCLAIM
  handed_back,  // shutdown: lease dropped, request re-queued for another worker
  abandoned,    // Redis failed; the entry stays pending and is retried by XAUTOCLAIM
};

class session_runner {
 public:
  session_runner(net::any_io_executor ex, const worker_config& cfg, session_store& store, request_queue& queue,
                 backend& model, turn_registry& turns, worker_metrics& metrics);

  net::awaitable<session_outcome> handle(request_entry entry);

  // Sessions finish the turn they are generating, then hand the rest back.
  void begin_shutdown() noexcept { shutting_down_ = true; }

 private:
  struct session_context;
  // released: the reply was stored, every message is answered and the lease is gone.
  enum class step { next, released, lease_lost, handed_back, abandoned };
  // How answering a session whose lease we hold ends: the outcomes of handle() but lease_busy.
  enum class ending { released, lease_lost, handed_back, abandoned };

  // `first`: the state read together with the lease.
  net::awaitable<ending> answer_all(session_context& ctx, session_state first);
  net::awaitable<step> answer_turn(session_context& ctx, const session_state& state, long long seq);
  net::awaitable<step> dead_letter(session_context& ctx, long long seq, const std::string& message_id,
                                   const std::string& error, int attempts);
  net::awaitable<step> store_reply(session_context& ctx, long long seq, bot_reply& reply,
                                   const std::string& event_json);
  net::awaitable<void> heartbeat(std::shared_ptr<session_context> ctx);

  net::any_io_executor ex_;
  const worker_config& cfg_;
  session_store& store_;
  request_queue& queue_;
  backend& model_;
  turn_registry& turns_;
  worker_metrics& metrics_;
  bool shutting_down_ = false;
};

}  // namespace parley::worker
