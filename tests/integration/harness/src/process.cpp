#include <parley/test/process.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace parley::test {

process::process(process_options opts) : opts_(std::move(opts)) {
  if (opts_.argv.empty()) throw std::invalid_argument("process: empty argv");
  if (opts_.log_path.empty()) throw std::invalid_argument("process: log_path is required");

  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& k : opts_.unset_env) env.erase(k);
  for (const auto& [k, v] : opts_.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = opts_.argv;
  std::vector<char*> argvp;
  for (auto& s : args) argvp.push_back(s.data());
  argvp.push_back(nullptr);

  int log_fd = ::open(opts_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot open log " + opts_.log_path.string());
  const pid_t parent = ::getpid();
  const std::string wd = opts_.working_dir.string();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (!wd.empty() && ::chdir(wd.c_str()) != 0) ::_exit(126);
    ::execve(argvp[0], argvp.data(), envp.data());
    const char msg[] = "execve failed\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
}

process::~process() { kill(); }

process::process(process&& other) noexcept
    : opts_(std::move(other.opts_)), pid_(other.pid_), status_(other.status_) {
  other.pid_ = -1;
}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    kill();
    opts_ = std::move(other.opts_);
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

bool process::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

void process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return status_;
  wait_until([&] { return !running(); }, timeout);
  return status_;
}

void process::kill() {
  if (pid_ <= 0) return;
  if (running()) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    if (::waitpid(pid_, &st, 0) == pid_) status_ = st;
  }
  pid_ = -1;
}

std::string process::log_text() const {
  std::ifstream in(opts_.log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

finished_process run_to_exit(process_options opts, std::chrono::milliseconds timeout) {
  process p(std::move(opts));
  const auto status = p.wait_exit(timeout);
  p.kill();
  finished_process f;
  if (status && WIFEXITED(*status)) f.status = WEXITSTATUS(*status);
  f.log = p.log_text();
  return f;
}

}  // namespace parley::test
