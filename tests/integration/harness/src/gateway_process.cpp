#include <parley/test/gateway_process.hpp>

#include <parley/test/http_client.hpp>
#include <parley/test/ports.hpp>
#include <parley/test/redis_cluster.hpp>

#include <signal.h>

#include <algorithm>
#include <stdexcept>

namespace parley::test {

std::string gateway_binary() {
#ifdef PARLEY_GATEWAY_BIN
  return PARLEY_GATEWAY_BIN;
#else
  return {};
#endif
}

gateway_process::gateway_process(const std::string& redis_url, const std::filesystem::path& dir,
                                 std::vector<std::string> extra_args,
                                 std::map<std::string, std::string> env)
    : env_(std::move(env)), dir_(dir), port_(free_port()) {
  if (gateway_binary().empty()) throw std::runtime_error("parley-gateway was not built with this harness");
  argv_ = {gateway_binary(), "--host", "127.0.0.1", "--port", std::to_string(port_), "--redis-url", redis_url};
  if (std::find(extra_args.begin(), extra_args.end(), "--request-shards") == extra_args.end())
    argv_.insert(argv_.end(), {"--request-shards", std::to_string(default_request_shards(redis_url))});
  argv_.insert(argv_.end(), extra_args.begin(), extra_args.end());
  start();
}

gateway_process::~gateway_process() { proc_.kill(); }

void gateway_process::start() {
  ++starts_;
  auto log = dir_ / ("gateway-" + std::to_string(port_) + "-" + std::to_string(starts_) + ".log");
  // Config comes from the flags only: a developer's REDIS_URL or PORT must not leak in.
  proc_ = process({.argv = argv_, .env = env_,
                   .unset_env = {"REDIS_URL", "PORT", "HOST", "SESSION_TTL", "ALLOWED_ORIGINS", "STATIC_DIR", "REQUEST_SHARDS"},
                   .log_path = log, .working_dir = dir_});
  bool up = wait_until(
      [&] {
        if (!proc_.running()) return false;
        // Ready means Redis answers too, so the first request of a test never races the connect.
        auto r = http_request({.port = port_, .target = "/readyz", .timeout = std::chrono::milliseconds(500)});
        return r.ok && r.status == 200;
      },
      std::chrono::seconds(15));
  if (!up) throw std::runtime_error("parley-gateway did not start:\n" + proc_.log_text());
}

void gateway_process::restart() {
  proc_.kill();
  start();
}

std::optional<int> gateway_process::terminate(std::chrono::milliseconds timeout) {
  proc_.signal(SIGTERM);
  return proc_.wait_exit(timeout);
}

}  // namespace parley::test
