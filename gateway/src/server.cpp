#include <parley/gateway/context.hpp>
#include <parley/gateway/listener.hpp>
#include <parley/gateway/server.hpp>
#include <parley/metrics_server.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <atomic>
#include <thread>
#include <vector>

namespace parley::gateway {

namespace {
// How often shutdown checks whether every WebSocket has gone.
constexpr std::chrono::milliseconds drain_poll{50};

// Raises the soft descriptor limit to the hard one and returns how many client connections may
// be open at once: --max-connections, or the limit minus the descriptors kept for Redis, the
// listener, logs and refusals.
std::size_t connection_budget(const gateway_config& cfg) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  const std::size_t fds = lim.rlim_cur == RLIM_INFINITY ? 1u << 20 : static_cast<std::size_t>(lim.rlim_cur);
  const std::size_t derived = fds > cfg.reserved_descriptors ? fds - cfg.reserved_descriptors : 1;
  if (cfg.max_connections == 0) return derived;
  if (cfg.max_connections > derived)
    spdlog::warn("--max-connections {} is above what {} descriptors allow ({}); accepts may fail with EMFILE",
                 cfg.max_connections, fds, derived);
  return cfg.max_connections;
}
}  // namespace

int run_server(const gateway_config& cfg) {
  auto redis_cfg = cfg.redis;
  redis_cfg.client_name = "parley-gateway";
  const unsigned threads = cfg.threads ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  net::io_context ioc(static_cast<int>(threads));

  redis::client redis(net::make_strand(ioc), redis_cfg);
  // Session notifications are sharded pub/sub (SPUBLISH in the scripts): each at the node of its slot.
  redis::subscriber subscriber(net::make_strand(ioc), redis_cfg, redis);
  std::atomic<int> status{0};
  redis.on_config_error([&](boost::system::error_code ec) {
    spdlog::critical("--redis-url: {}", ec.message());
    status = 2;
    ioc.stop();
  });
  session_store store(redis, cfg);
  conversation_store conversations(redis, store, cfg);
  event_hub hub(subscriber);
  hub.attach();
  queue_monitor queue(net::make_strand(ioc), store, cfg, [&](std::string what) {
    spdlog::critical("{}", what);
    status = 2;
    ioc.stop();
  });
  origin_policy origins(cfg.allowed_origins, cfg.allow_localhost_origins);
  static_files files(cfg.static_dir);
  gateway_metrics metrics;
  const auto max_connections = connection_budget(cfg);
  context ctx{cfg, redis, store, conversations, hub, queue, origins, files,
              std::make_shared<connection_limiter>(cfg.max_connections_per_ip, max_connections), metrics};
  std::unique_ptr<metrics_server> metrics_http;
  if (cfg.metrics_port != 0) {
    // Reads only atomics and thread-safe accessors, as metrics_server requires.
    metrics_http = std::make_unique<metrics_server>(
        net::make_strand(ioc),
        metrics_server::options{cfg.metrics_host, cfg.metrics_port, cfg.metrics_idle_timeout, "parley-gateway"},
        [&](std::string& out) {
          metrics.write(out, gateway_gauges{.websockets_open = hub.size(),
                                            .redis_connected = redis.connected(),
                                            .request_queue_depth = queue.depth(),
                                            .busy = queue.busy(),
                                            .workers_alive = queue.workers()});
        });
    if (auto mec = metrics_http->start()) {
      spdlog::critical("cannot serve metrics on {}:{}: {}", cfg.metrics_host, cfg.metrics_port, mec.message());
      return 1;
    }
    spdlog::info("metrics on http://{}:{}/metrics", cfg.metrics_host, metrics_http->port());
  }

  listener lst(ioc, ctx);
  boost::system::error_code ec;
  auto address = net::ip::make_address(cfg.host, ec);
  if (ec) {
    spdlog::critical("--host '{}' is not an IP address", cfg.host);
    return 1;
  }
  if (auto bec = lst.open({address, cfg.port})) {
    spdlog::critical("cannot listen on {}:{}: {}", cfg.host, cfg.port, bec.message());
    return 1;
  }
  redis.start();
  subscriber.start();
  queue.start();
  lst.start();
  spdlog::info("listening on http://{}:{} ({} threads, up to {} connections, redis {}:{}, static files {})",
               cfg.host, lst.local_endpoint().port(), threads, max_connections, redis_cfg.host, redis_cfg.port,
               files.available() ? cfg.static_dir : cfg.static_dir + " (missing)");

  net::signal_set signals(ioc, SIGINT, SIGTERM);
  net::co_spawn(
      net::make_strand(ioc),
      [&]() -> net::awaitable<void> {
        auto [sec, sig] = co_await signals.async_wait(net::as_tuple(net::use_awaitable));
        if (sec) co_return;
        spdlog::info("signal {}: closing {} websocket(s) and shutting down", sig, hub.size());
        ctx.shutting_down = true;
        lst.stop();
        queue.stop();
        if (metrics_http) metrics_http->stop();
        hub.for_each([](event_sink& s) { s.go_away(); });
        net::steady_timer t(co_await net::this_coro::executor);
        const auto deadline = std::chrono::steady_clock::now() + cfg.shutdown_grace;
        while (hub.size() > 0 && std::chrono::steady_clock::now() < deadline) {
          t.expires_after(drain_poll);
          co_await t.async_wait(net::as_tuple(net::use_awaitable));
        }
        subscriber.stop();
        redis.stop();
        ioc.stop();
      },
      net::detached);

  std::vector<std::thread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  if (status != 0) return status;
  spdlog::info("stopped");
  return 0;
}

}  // namespace parley::gateway
