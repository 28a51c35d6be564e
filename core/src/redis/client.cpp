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

std::optional<endpoint> client::node_for(std::string_view key) const {
  switch (cluster_->kind()) {
    case detail::cluster_router::topology::standalone: return endpoint{impl_->cfg().host, impl_->cfg().port};
    case detail::cluster_router::topology::cluster:
      if (auto m = cluster_->master_of(detail::key_slot(key))) return endpoint{m->host, m->port};
      return std::nullopt;
    case detail::cluster_router::topology::unknown: break;
  }
  return std::nullopt;
}

void client::refresh_map() {
  if (cluster_->kind() == detail::cluster_router::topology::cluster) cluster_->request_refresh();
}

void client::on_config_error(std::function<void(boost::system::error_code)> fn) {
  impl_->on_connect_failed([fn = std::move(fn)](boost::system::error_code ec) {
    if (ec == errc::db_on_cluster) fn(ec);
  });
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
