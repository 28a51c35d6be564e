#pragma once
// The real parley-gateway binary on a free port, started against a given Redis URL, waited for
// until GET /readyz answers 200 (listening and connected to Redis). Extra flags override the defaults (e.g. {"--session-ttl", "2"}).
#include <parley/test/process.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace parley::test {

// Path of the parley-gateway binary this harness was built with ("" when it was not).
std::string gateway_binary();

class gateway_process {
 public:
  gateway_process(const std::string& redis_url, const std::filesystem::path& dir,
                  std::vector<std::string> extra_args = {},
                  std::map<std::string, std::string> env = {});
  ~gateway_process();

  std::uint16_t port() const noexcept { return port_; }
  process& proc() noexcept { return proc_; }
  std::string log_text() const { return proc_.log_text(); }
  // Starts again with the same port and arguments (after a stop or a crash).
  void restart();
  // SIGTERM; returns the wait status, or nullopt if it did not exit within `timeout`.
  std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  void start();
  std::vector<std::string> argv_;
  std::map<std::string, std::string> env_;
  std::filesystem::path dir_;
  std::uint16_t port_;
  process proc_;
  int starts_ = 0;
};

}  // namespace parley::test
