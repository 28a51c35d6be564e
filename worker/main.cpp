// parley-worker: answers Parley chat messages with a language model. See docs/worker.md.
#include <parley/env.hpp>
#include <parley/logging.hpp>
#include <parley/redis/client.hpp>
#include <parley/worker/backend_factory.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/service.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <functional>

namespace net = boost::asio;
using namespace parley::worker;

int main(int argc, char** argv) {
  if (auto env = parley::load_dotenv(".env"); !env.error.empty()) {
    std::fprintf(stderr, "parley-worker: %s\n", env.error.c_str());
    return 2;
  }
  CLI::App app{"parley-worker: takes chat messages off Redis and streams model replies back"};
  worker_config cfg;
  register_options(app, cfg);
  backend_factory backends(app);
  CLI11_PARSE(app, argc, argv);

  if (auto invalid = validate(cfg)) {
    std::fprintf(stderr, "parley-worker: %s\n", invalid->c_str());
    return 2;
  }
  parley::setup_logging("worker", cfg.log_level);
  auto redis = parley::redis::parse_url(cfg.redis_url);
  if (!redis) {
    spdlog::critical("REDIS_URL: expected redis://[user[:password]@]host[:port][/db]");
    return 2;
  }
  std::string why;
  auto model = backends.create(cfg, why);
  if (!model) {
    spdlog::critical("{}", why);
    return 2;  // a configuration problem: scripts/run.sh does not restart the worker
  }

  net::io_context io;
  service worker(io, cfg, *redis, *model);
  net::signal_set signals(io, SIGINT, SIGTERM);
  int signals_seen = 0;
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      ++signals_seen;
      spdlog::info("signal {}: {}", sig, signals_seen == 1 ? "finishing running turns" : "handing turns back now");
      worker.shutdown(signals_seen > 1);
      wait_signal();
    });
  };
  wait_signal();
  int status = 0;
  net::co_spawn(io, worker.run(), [&](std::exception_ptr ep) {
    if (ep) {
      status = 1;
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        spdlog::critical("worker failed: {}", e.what());
      }
    }
    // Idle keep-alive scrapes of /metrics must not hold the exit back.
    io.stop();
  });
  io.run();
  return status;
}
