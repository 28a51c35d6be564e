#include <parley/redis/client.hpp>

#include "client_impl.hpp"
#include "cluster.hpp"

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

client::client(net::any_io_executor ex, config cfg) {
  const bool seeded_cluster = !cfg.more_seeds.empty();
  impl_ = std::make_shared<client_impl>(ex, cfg, seeded_cluster);
  cluster_ = std::make_shared<detail::cluster_router>(ex, std::move(cfg));
  std::weak_ptr<detail::cluster_router> router = cluster_;
  std::weak_ptr<client_impl> seed = impl_;
  impl_->on_server_kind([router, seed](bool is_cluster) {
    auto r = router.lock();
    auto s = seed.lock();
    if (!r || !s) return;
    if (is_cluster) r->activate(s);
    else r->mark_standalone();
  });
  if (seeded_cluster) cluster_->activate(impl_);
}

client::~client() { stop(); }

void client::start() { impl_->start(); }
void client::stop() {
  impl_->stop();
  cluster_->stop();
}

bool client::connected() const noexcept {
  switch (cluster_->kind()) {
    case detail::cluster_router::topology::standalone: return impl_->connected();
    case detail::cluster_router::topology::cluster: return cluster_->connected();
    case detail::cluster_router::topology::unknown: break;
  }
  return false;
}

void client::on_connect(std::function<void()> fn) {
  impl_->on_connect(fn);
  cluster_->on_connect(std::move(fn));
}

net::awaitable<boost::system::result<std::vector<value>>> client::exec_pipeline(std::vector<command> cmds) {
  if (cluster_->kind() == detail::cluster_router::topology::cluster) {
    auto router = cluster_;
    co_return co_await router->exec(std::move(cmds));
  }
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
