// `make run` (scripts/run.sh) end to end: each instance keeps its own state under VAR_DIR/PORT,
// a second one on the same PORT refuses to start, a part killed with SIGKILL is restarted, and a
// part that cannot start (a port in use, a configuration error) stops everything with the reason
// on the last line. The script runs as a user runs it, with every port free and the test model.
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct run_ports {
  std::uint16_t port = free_port();
  std::uint16_t redis = free_port();
  // The gateway's metrics on the base, worker 1 on base + 1: two consecutive free ports.
  std::uint16_t metrics_base = consecutive_free_ports();

  // The first of `n` consecutive free ports.
  static std::uint16_t consecutive_free_ports(int n = 2) {
    for (int i = 0; i < 50; ++i) {
      const auto p = free_port();
      bool all = p + n - 1 <= 65535;
      for (int k = 1; all && k < n; ++k) all = free_port_at(static_cast<std::uint16_t>(p + k));
      if (all) return p;
    }
    throw std::runtime_error("no " + std::to_string(n) + " consecutive free ports");
  }
  static bool free_port_at(std::uint16_t p) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(p);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }
};

// One `make run`: scripts/run.sh with its own ports, WORKERS=1 and the test model.
class run_instance {
 public:
  run_instance(const fs::path& log_dir, const fs::path& var_dir, run_ports ports,
               std::map<std::string, std::string> extra_env = {})
      : ports_(ports), var_dir_(var_dir) {
    std::map<std::string, std::string> env{
        {"BUILD_DIR", PARLEY_BUILD_DIR},     {"VAR_DIR", var_dir.string()},
        {"PORT", std::to_string(ports.port)}, {"REDIS_PORT", std::to_string(ports.redis)},
        {"METRICS_PORT_BASE", std::to_string(ports.metrics_base)},
        {"WORKERS", "1"},                     {"MODEL", test_model()},
        // Short replies on one thread: a busy 2-core machine makes ggml's spinning threads crawl.
        {"MAX_NEW_TOKENS", "8"},              {"MODEL_THREADS", "1"}};
    for (auto& [k, v] : extra_env) env[k] = v;
    static int n = 0;
    proc_ = process({.argv = {"/bin/bash", PARLEY_RUN_SCRIPT},
                     .env = env,
                     .unset_env = {"REDIS_URL", "HOST", "GATEWAY_METRICS_PORT", "MODEL_BACKEND", "METRICS_HOST"},
                     .log_path = log_dir / ("run-" + std::to_string(ports.port) + "-" + std::to_string(++n) + ".log")});
  }
  // Stops the instance like Ctrl-C would (SIGTERM); the whole process group goes if it hangs.
  ~run_instance() {
    if (proc_.running() && !stop()) ::kill(-proc_.pid(), SIGKILL);
  }

  // Waits until the gateway and the worker said they are up; false when the script exited first.
  bool wait_up(std::chrono::milliseconds timeout = 90s) {
    return wait_until(
        [&] {
          const auto log = log_text();
          return !proc_.running() ||
                 (log.find("[run] gateway is up") != std::string::npos && log.find("[run] worker-1 is up") != std::string::npos);
        },
        timeout) &&
           proc_.running();
  }
  // SIGTERM and wait: the exit status, nullopt if it did not exit within 30 s.
  std::optional<int> stop() {
    proc_.signal(SIGTERM);
    return exit_status(30s);
  }
  std::optional<int> exit_status(std::chrono::milliseconds timeout) {
    auto st = proc_.wait_exit(timeout);
    if (!st) return std::nullopt;
    return WIFEXITED(*st) ? WEXITSTATUS(*st) : 128 + WTERMSIG(*st);
  }

  fs::path state() const { return var_dir_ / std::to_string(ports_.port); }
  // The pid in run/NAME.pid, 0 when there is none.
  pid_t part_pid(const std::string& name) const {
    std::ifstream in(state() / "run" / (name + ".pid"));
    pid_t pid = 0;
    in >> pid;
    return pid;
  }
  std::string log_text() const { return proc_.log_text(); }
  std::string last_line() const {
    std::istringstream in(log_text());
    std::string line, last;
    while (std::getline(in, line))
      if (!line.empty()) last = line;
    return last;
  }
  std::size_t count(const std::string& needle) const {
    const auto log = log_text();
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }
  const run_ports& ports() const { return ports_; }
  process& proc() { return proc_; }

 private:
  run_ports ports_;
  fs::path var_dir_;
  process proc_;
};

bool ready(std::uint16_t port) { return http_request({.port = port, .target = "/readyz", .timeout = 2s}).status == 200; }

bool accepts(std::uint16_t port) {
  return http_request({.port = port, .target = "/", .timeout = 1s}).error.find("connect") == std::string::npos;
}

class make_run : public ::testing::Test {
 protected:
  void TearDown() override {
    if (HasFailure())
      for (auto* r : shown_)
        std::cerr << "---- run.sh on port " << r->ports().port << " ----\n" << r->log_text() << "\n";
  }
  run_instance& start(run_ports ports, std::map<std::string, std::string> env = {}, const fs::path& var = {}) {
    instances_.push_back(std::make_unique<run_instance>(dir_.path(), var.empty() ? var_dir() : var, ports, std::move(env)));
    shown_.push_back(instances_.back().get());
    return *instances_.back();
  }
  fs::path var_dir() const { return dir_.path() / "var"; }

  temp_dir dir_;
  std::vector<std::unique_ptr<run_instance>> instances_;
  std::vector<run_instance*> shown_;
};

TEST_F(make_run, two_instances_on_different_ports_keep_their_own_state) {
  auto& a = start({});
  auto& b = start({});
  ASSERT_TRUE(a.wait_up());
  ASSERT_TRUE(b.wait_up());
  EXPECT_TRUE(fs::exists(a.state() / "redis" / "appendonlydir"));
  EXPECT_TRUE(fs::exists(b.state() / "redis" / "appendonlydir"));
  EXPECT_NE(a.part_pid("redis"), b.part_pid("redis"));
  // A session of one instance is unknown to the other: two Redis data sets.
  const auto token = new_session(a.ports().port);
  EXPECT_EQ(http_request({.port = a.ports().port, .target = "/refresh_token?token=" + token}).status, 200);
  EXPECT_EQ(http_request({.port = b.ports().port, .target = "/refresh_token?token=" + token}).status, 400);

  // Stopping one leaves the other's supervision alone: its killed worker comes back.
  EXPECT_EQ(a.stop(), 0);
  EXPECT_EQ(a.last_line(), "[run] stopped");
  const auto worker = b.part_pid("worker-1");
  ASSERT_GT(worker, 0);
  ASSERT_EQ(::kill(worker, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return b.count("[run] worker-1 is up") == 2; }, 60s));
  EXPECT_NE(b.part_pid("worker-1"), worker);
  EXPECT_EQ(b.count("[run] worker-1 exited with status 137; restarting it in 1 s"), 1u);
  // And it answers.
  const auto t = new_session(b.ports().port);
  ws_client ws;
  connect_chat(ws, b.ports().port, t);
  frame_list frames;
  const auto id = send_message(ws, "Hello", &frames);
  EXPECT_TRUE(read_until(ws, frames, has_frame("reply_end", id))) << frames.size() << " frames, the last: "
                                                                 << (frames.empty() ? "" : boost::json::serialize(frames.back()));
  EXPECT_EQ(b.stop(), 0);
}

TEST_F(make_run, a_second_instance_on_the_same_port_refuses_to_start) {
  auto& a = start({});
  ASSERT_TRUE(a.wait_up());
  run_ports same = a.ports();
  same.redis = free_port();
  same.metrics_base = run_ports::consecutive_free_ports();
  auto& again = start(same);
  EXPECT_EQ(again.exit_status(30s), 1);
  EXPECT_NE(again.last_line().find("another 'make run' is already running with PORT=" + std::to_string(same.port)),
            std::string::npos)
      << again.last_line();
  // With its own VAR_DIR it gets past the lock and stops at the port check.
  auto& elsewhere = start(same, {}, dir_.path() / "other-var");
  EXPECT_EQ(elsewhere.exit_status(30s), 1);
  EXPECT_EQ(elsewhere.last_line(),
            "[run] port " + std::to_string(same.port) + " (PORT) is already in use by another program: set PORT to a free port");
  // The first one is untouched (ready: /readyz also waits for its first queue sample).
  EXPECT_TRUE(wait_until([&] { return ready(a.ports().port); }, 30s));
  EXPECT_GT(a.part_pid("gateway"), 0);
  EXPECT_EQ(a.stop(), 0);
}

TEST_F(make_run, a_gateway_killed_with_kill_9_is_restarted) {
  auto& r = start({});
  ASSERT_TRUE(r.wait_up());
  const auto token = new_session(r.ports().port);
  const auto gateway = r.part_pid("gateway");
  ASSERT_GT(gateway, 0);
  ASSERT_EQ(::kill(gateway, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return r.count("[run] gateway is up") == 2; }, 30s));
  EXPECT_NE(r.part_pid("gateway"), gateway);
  EXPECT_TRUE(wait_until([&] { return ready(r.ports().port); }, 30s));
  EXPECT_EQ(http_request({.port = r.ports().port, .target = "/refresh_token?token=" + token}).status, 200);
  EXPECT_EQ(r.stop(), 0);
}

TEST_F(make_run, redis_killed_with_kill_9_is_restarted_on_its_data) {
  auto& r = start({});
  ASSERT_TRUE(r.wait_up());
  const auto token = new_session(r.ports().port);
  const auto redis = r.part_pid("redis");
  ASSERT_GT(redis, 0);
  ASSERT_EQ(::kill(redis, SIGKILL), 0);
  EXPECT_TRUE(wait_until([&] { return r.count("[run] redis is up") == 2; }, 30s));
  EXPECT_TRUE(wait_until([&] { return ready(r.ports().port); }, 30s));
  EXPECT_EQ(http_request({.port = r.ports().port, .target = "/refresh_token?token=" + token}).status, 200);
  EXPECT_EQ(r.stop(), 0);
}

// REDIS_CLUSTER=1: a private 6-node Redis Cluster instead of one redis-server. A chat works on
// it; a stop and a start on the same state re-form the cluster from each node's nodes.conf
// (no second `--cluster create`) with the conversation still there.
TEST_F(make_run, on_a_private_redis_cluster_it_chats_and_keeps_its_data_across_restarts) {
  run_ports ports;
  ports.redis = run_ports::consecutive_free_ports(6);
  const auto bus = run_ports::consecutive_free_ports(6);
  const std::map<std::string, std::string> env{{"REDIS_CLUSTER", "1"}, {"REDIS_BUS_PORT", std::to_string(bus)}};
  std::string token, id;
  {
    auto& r = start(ports, env);
    ASSERT_TRUE(r.wait_up()) << r.log_text();
    EXPECT_EQ(r.count("[run] creating the Redis Cluster"), 1u);
    EXPECT_NE(r.log_text().find("[run] Redis Cluster on redis://127.0.0.1:" + std::to_string(ports.redis) + ","),
              std::string::npos);
    token = new_session(ports.port);
    ws_client ws;
    connect_chat(ws, ports.port, token);
    frame_list frames;
    id = send_message(ws, "Hello", &frames);
    ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", id)));
    EXPECT_EQ(r.stop(), 0);
    EXPECT_EQ(r.last_line(), "[run] stopped");
  }
  auto& again = start(ports, env);
  ASSERT_TRUE(again.wait_up()) << again.log_text();
  EXPECT_EQ(again.count("[run] creating the Redis Cluster"), 0u);
  ASSERT_TRUE(wait_until([&] { return ready(ports.port); }, 30s));
  auto messages = history(ports.port, token);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(json_str(messages[0].as_object(), "id"), id);
  EXPECT_EQ(again.stop(), 0);
}

TEST_F(make_run, a_bad_redis_cluster_setting_exits_2_naming_it) {
  auto& r = start({}, {{"REDIS_CLUSTER", "yes"}});
  EXPECT_EQ(r.exit_status(30s), 2);
  EXPECT_EQ(r.last_line(), "[run] REDIS_CLUSTER must be 0 or 1, not 'yes'");
}

TEST_F(make_run, a_metrics_port_in_use_stops_it_with_the_reason) {
  run_ports ports;
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ports.metrics_base);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  auto& r = start(ports);
  EXPECT_EQ(r.exit_status(30s), 1);
  EXPECT_EQ(r.last_line(), "[run] port " + std::to_string(ports.metrics_base) +
                               " (GATEWAY_METRICS_PORT) is already in use by another program: set GATEWAY_METRICS_PORT to a free port");
  EXPECT_FALSE(accepts(ports.port));
  EXPECT_FALSE(accepts(ports.redis));
  ::close(taken);
}

TEST_F(make_run, a_part_that_cannot_start_stops_everything_with_the_reason) {
  run_ports ports;
  // Passes the port checks, but the gateway refuses the setting and exits with status 2.
  auto& r = start(ports, {{"GATEWAY_METRICS_PORT", std::to_string(ports.port)}});
  EXPECT_EQ(r.exit_status(60s), 2);
  const auto last = r.last_line();
  EXPECT_TRUE(last.starts_with("[run] stopped: gateway stopped on a configuration error (exit status 2): ")) << last;
  EXPECT_NE(last.find("metrics-port"), std::string::npos) << last;
  EXPECT_FALSE(accepts(ports.redis));
  EXPECT_FALSE(fs::exists(r.state() / "run" / "redis.pid"));
}

}  // namespace
}  // namespace parley::test
