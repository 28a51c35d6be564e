#pragma once
// A private redis-server on a free loopback port with its own directory, no persistence unless
// asked. stop() and start() keep the port, so a test can simulate an outage and a recovery.
// `command` is a synchronous hiredis call for test setup and assertions (a fresh connection per
// call: slow but never stale across restarts).
#include <parley/test/process.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace parley::test {

struct redis_reply {
  enum class kind { nil, string, status, error, integer, array } type = kind::nil;
  std::string str;
  long long integer = 0;
  std::vector<redis_reply> elements;
  bool is_nil() const noexcept { return type == kind::nil; }
};

class redis_server {
 public:
  // Starts at once; throws if the server does not answer PING within 10 s (70 s while it
  // answers LOADING).
  explicit redis_server(const std::filesystem::path& dir, std::vector<std::string> extra_args = {});
  ~redis_server();

  // Returns once PING answers PONG (the data set is loaded); throws after `timeout`.
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM and wait for the exit (SIGKILL after 5 s).
  void stop();
  bool running() { return proc_.running(); }
  // The running server, e.g. to SIGKILL it (start() brings it back on the same port and data).
  process& proc() noexcept { return proc_; }
  const std::filesystem::path& dir() const noexcept { return dir_; }

  std::uint16_t port() const noexcept { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string log_text() const { return proc_.log_text(); }

  // Throws std::runtime_error when the server cannot be reached.
  redis_reply command(const std::vector<std::string>& args) const;
  // Shorthand for string/integer replies; "" for nil.
  std::string command_str(const std::vector<std::string>& args) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> extra_args_;
  std::uint16_t port_;
  process proc_;
};

}  // namespace parley::test
