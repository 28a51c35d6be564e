#pragma once
// llama.cpp's own llama-server (built by scripts/build-llama.sh from the same bundled source)
// on a free loopback port: the real third-party OpenAI-compatible server the openai backend is
// tested against. Waits until GET /health answers 200.
#include <parley/test/harness.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace remote_test {

namespace pt = parley::test;

inline bool llama_server_available() { return std::filesystem::exists(PARLEY_LLAMA_SERVER); }

class llama_server {
 public:
  llama_server(const std::filesystem::path& dir, const std::string& model, int parallel,
               std::vector<std::string> extra = {})
      : port_(pt::free_port()) {
    std::vector<std::string> argv{PARLEY_LLAMA_SERVER, "-m", model, "--host", "127.0.0.1", "--port",
                                  std::to_string(port_), "-np", std::to_string(parallel),
                                  "-c", std::to_string(512 * parallel), "-t", "1", "--no-warmup"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    proc_ = pt::process({.argv = argv, .log_path = dir / ("llama-server-" + std::to_string(port_) + ".log")});
    bool up = pt::wait_until(
        [&] {
          auto r = pt::http_request({.port = port_, .target = "/health", .timeout = std::chrono::seconds(2)});
          return r.ok && r.status == 200;
        },
        std::chrono::seconds(120));
    if (!up) throw std::runtime_error("llama-server did not become healthy:\n" + proc_.log_text());
  }

  std::uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log_text() const { return proc_.log_text(); }
  pt::process& proc() { return proc_; }

 private:
  std::uint16_t port_;
  pt::process proc_;
};

}  // namespace remote_test
