// parley-worker: answers Parley chat messages with a language model. See docs/worker.md.
#include <parley/cli.hpp>
#include <parley/logging.hpp>
#include <parley/worker/backend_factory.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/service.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <functional>

namespace net = boost::asio;
using namespace parley::worker;

namespace {
constexpr std::string_view program = "parley-worker";
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-worker: takes chat messages off Redis and streams model replies back"};
  worker_config cfg;
  register_options(app, cfg);
  backend_factory backends(app);
  if (auto exit = parley::parse_command_line(app, program, argc, argv)) return *exit;
  if (auto invalid = validate(cfg)) return parley::bad_setting(program, *invalid);
  parley::setup_logging("worker", cfg.log_level);
  std::string why;
  auto model = backends.create(cfg, why);
  if (!model) return parley::bad_setting(program, why);

  net::io_context io;
  service worker(io, cfg, cfg.redis, *model);
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
  worker.on_config_error([&](std::string what) {
    spdlog::critical("{}", what);
    net::post(io, [&] {
      status = 2;
      io.stop();
    });
  });
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
