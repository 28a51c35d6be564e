// A bad setting stops the real worker at start with exit status 2 and one line naming the setting,
// whether it came from a flag or the environment: scripts/run.sh restarts a worker that exits with
// anything else, every second, forever. --help exits 0. Neither Redis nor a model is needed.
#include <parley/test/process.hpp>
#include <parley/test/temp_dir.hpp>
#include <parley/test/worker_process.hpp>

#include <gtest/gtest.h>

namespace parley::test {
namespace {

using namespace std::chrono_literals;

finished_process run_worker(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  temp_dir dir;
  std::vector<std::string> argv{worker_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_to_exit({.argv = argv, .env = std::move(env),
                      .unset_env = {"MODEL", "MODEL_BACKEND", "REDIS_URL", "METRICS_PORT", "WORKER_NAME",
                                    "TEMPERATURE", "SESSION_TTL", "LOG_LEVEL", "FLASH_ATTN"},
                      .log_path = dir.path() / "worker.log", .working_dir = dir.path()},
                     30s);
}

TEST(worker_startup, a_bad_environment_value_exits_2_with_one_line_naming_it) {
  auto e = run_worker({}, {{"TEMPERATURE", "9"}});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-worker: --temperature (TEMPERATURE): Value 9 not in range 0.000000 to 5.000000\n");
}

TEST(worker_startup, a_bad_flag_exits_2_with_one_line_naming_it) {
  auto e = run_worker({"--session-ttl", "5x"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-worker: --session-ttl (SESSION_TTL): '5x' is not a duration (e.g. 250ms, 30s, 5m, 2h)\n");
  e = run_worker({"--lease-ttl", "20s", "--claim-min-idle", "20s"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-worker: --claim-min-idle must be greater than --lease-ttl\n");
}

TEST(worker_startup, an_unknown_flash_attention_mode_exits_2_naming_the_choices) {
  auto e = run_worker({}, {{"FLASH_ATTN", "fast"}});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.log, "parley-worker: --flash-attn (FLASH_ATTN): fast not in {off,on,auto}\n");
}

TEST(worker_startup, help_exits_0) {
  auto e = run_worker({"--help"});
  EXPECT_EQ(e.status, 0);
  EXPECT_NE(e.log.find("--temperature"), std::string::npos);
}

}  // namespace
}  // namespace parley::test
