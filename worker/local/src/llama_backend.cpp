#include <parley/worker/local/llama_backend.hpp>

#include "engine.hpp"

#include <parley/worker/local/llama_errors.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stop_token>
#include <utility>

namespace parley::worker::local {

boost::system::result<std::unique_ptr<llama_backend>> llama_backend::load(const llama_config& config) {
  auto e = engine::create(config);
  if (!e) return e.error();
  return std::unique_ptr<llama_backend>(new llama_backend(std::move(*e)));
}

llama_backend::llama_backend(std::unique_ptr<engine> e) : engine_(std::move(e)) {}

llama_backend::~llama_backend() = default;

int llama_backend::context_per_session() const noexcept { return engine_->context_per_session(); }

bool llama_backend::uses_chat_template() const noexcept { return engine_->uses_chat_template(); }

void llama_backend::write_metrics(std::string& out) const { engine_->metrics().write(out); }

net::awaitable<boost::system::result<generation_result>> llama_backend::generate(
    generation_request req, delta_handler on_delta, std::stop_token stop) {
  // Declared before the guard: the guard detaches the channel before it is destroyed.
  job::wakeup_channel wakeup(co_await net::this_coro::executor, 1);
  auto j = std::make_shared<job>(std::move(req));
  j->attach(&wakeup);
  engine* e = engine_.get();
  e->submit(j);

  // Also if this frame is destroyed before the outcome arrived (its io_context shut down): the
  // generation must then still end and free its slot.
  struct detach_guard {
    std::shared_ptr<job> j;
    engine* e;
    ~detach_guard() {
      j->detach();
      if (!j->done()) {
        j->cancel();
        e->wake();
      }
    }
  } guard{j, e};
  std::stop_callback on_stop(std::move(stop), [j, e] {
    j->cancel();
    e->wake();
  });

  for (;;) {
    auto [ec] = co_await wakeup.async_receive(net::as_tuple(net::use_awaitable));
    if (ec) co_return ec;
    auto [text, done] = j->take();
    if (!text.empty() && on_delta) on_delta(text);
    if (done) co_return j->outcome();
  }
}

}  // namespace parley::worker::local
