#include <parley/test/worker_process.hpp>

#include <parley/test/http_client.hpp>
#include <parley/test/ports.hpp>
#include <parley/test/redis_cluster.hpp>

#include <algorithm>
#include <sstream>
#include <stdexcept>

namespace parley::test {

using namespace std::chrono_literals;

std::string worker_binary() {
#ifdef PARLEY_WORKER_BIN
  return PARLEY_WORKER_BIN;
#else
  return {};
#endif
}

std::string test_model() {
#if defined(PARLEY_STORIES_MODEL) && defined(PARLEY_TINY_MODEL)
  return std::filesystem::exists(PARLEY_STORIES_MODEL) ? PARLEY_STORIES_MODEL : PARLEY_TINY_MODEL;
#else
  return {};
#endif
}

worker_process::worker_process(const std::string& redis_url, const std::filesystem::path& dir,
                               const std::string& name, std::vector<std::string> extra_args)
    : name_(name), metrics_port_(free_port()) {
  if (worker_binary().empty()) throw std::runtime_error("parley-worker was not built with this harness");
  // Defaults for tests; a flag in `extra_args` (always "--flag value" pairs) replaces its default.
  std::vector<std::pair<std::string, std::string>> flags{
      {"--redis-url", redis_url},   {"--consumer", name},
      {"--metrics-port", std::to_string(metrics_port_)},
      {"--model", test_model()},    {"--threads", "1"},
      {"--ctx-size", "512"},        {"--max-new-tokens", "48"},
      {"--lease-ttl", "1s"},        {"--heartbeat-interval", "200ms"},
      {"--claim-interval", "200ms"}, {"--claim-min-idle", "1500ms"},
      {"--read-block", "500ms"},    {"--retry-backoff", "50ms"},
      {"--shutdown-grace", "2s"},   {"--request-shards", std::to_string(default_request_shards(redis_url))}};
  for (std::size_t i = 0; i + 1 < extra_args.size(); i += 2) {
    auto it = std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == extra_args[i]; });
    if (it != flags.end()) {
      it->second = extra_args[i + 1];
    } else {
      flags.emplace_back(extra_args[i], extra_args[i + 1]);
    }
  }
  std::vector<std::string> argv{worker_binary()};
  for (auto& [flag, value] : flags) {
    argv.push_back(flag);
    argv.push_back(value);
  }
  // No .env from the developer's checkout and no inherited settings leak into the test.
  proc_ = process({.argv = argv,
                   .unset_env = {"MODEL", "MODEL_BACKEND", "REDIS_URL", "METRICS_PORT", "WORKER_NAME", "REQUEST_SHARDS"},
                   .log_path = dir / (name + ".log"),
                   .working_dir = dir});
  const bool up = wait_until(
      [&] {
        if (!proc_.running()) return true;
        auto r = http_request({.port = metrics_port_, .target = "/healthz", .timeout = 1s});
        return r.ok && r.status == 200;
      },
      60s);
  if (!up || !proc_.running()) throw std::runtime_error("parley-worker did not start:\n" + proc_.log_text());
}

std::string worker_process::metrics() const {
  auto r = http_request({.port = metrics_port_, .target = "/metrics", .timeout = 5s});
  return r.ok && r.status == 200 ? r.body : std::string();
}

double worker_process::metric(const std::string& series) const {
  std::istringstream in(metrics());
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace parley::test
