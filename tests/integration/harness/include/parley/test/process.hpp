#pragma once
// A child process started with fork/execve whose stdout and stderr go to a log file.
// The child dies with the test process (PR_SET_PDEATHSIG), and the destructor SIGKILLs it if it is
// still running. Not thread-safe: one test thread drives it. PR_SET_PDEATHSIG fires when the
// thread that started the child ends, so start children from the test's own thread.
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace parley::test {

struct process_options {
  std::vector<std::string> argv;            // argv[0] is the executable path
  std::map<std::string, std::string> env;   // added to (and overriding) the parent's environment
  std::vector<std::string> unset_env;       // removed from the inherited environment
  std::filesystem::path log_path;           // stdout+stderr; required
  std::filesystem::path working_dir;        // empty: inherit
};

class process {
 public:
  process() = default;
  explicit process(process_options opts);
  ~process();
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const noexcept { return pid_; }
  bool running();
  // Sends a signal (SIGTERM, SIGINT, SIGKILL...). No effect once exited.
  void signal(int sig);
  // Waits up to `timeout` for the exit; returns the wait status (see WIFEXITED...) or nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  // SIGKILL and reap. Idempotent.
  void kill();
  std::string log_text() const;
  const std::filesystem::path& log_path() const noexcept { return opts_.log_path; }

 private:
  process_options opts_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// How a process run to its end ended: its exit status (-1 when a signal ended it, or it was still
// running after the timeout and was killed) and its whole log.
struct finished_process {
  int status = -1;
  std::string log;
};
// Starts `opts`, waits up to `timeout` for it to exit by itself, and kills it otherwise.
finished_process run_to_exit(process_options opts, std::chrono::milliseconds timeout);

// Polls `pred` every 20 ms until it returns true or `timeout` elapses; returns its last value.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout);

}  // namespace parley::test

#include <thread>

template <class Pred>
bool parley::test::wait_until(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}
