#include <parley/cli.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

namespace parley {
namespace {

using namespace std::chrono_literals;

struct parsed {
  std::optional<int> exit;
  std::string err;
  std::string out;
};

parsed parse(std::vector<std::string> args) {
  CLI::App app{"test"};
  std::chrono::milliseconds ttl{1000};
  int count = 1;
  add_duration_option(app, "--ttl", ttl, "time to live", "PARLEY_TEST_TTL");
  app.add_option("--count", count, "how many")->envname("PARLEY_TEST_COUNT")->check(CLI::Range(1, 9));
  std::vector<char*> argv{const_cast<char*>("prog")};
  for (auto& a : args) argv.push_back(a.data());
  testing::internal::CaptureStderr();
  testing::internal::CaptureStdout();
  parsed p;
  p.exit = parse_command_line(app, "prog", static_cast<int>(argv.size()), argv.data());
  p.out = testing::internal::GetCapturedStdout();
  p.err = testing::internal::GetCapturedStderr();
  return p;
}

TEST(parse_command_line, good_settings_go_on) {
  auto p = parse({"--ttl", "5s", "--count", "3"});
  EXPECT_FALSE(p.exit);
  EXPECT_EQ(p.err, "");
}

TEST(parse_command_line, a_bad_flag_is_exit_2_with_one_line_naming_it) {
  auto p = parse({"--ttl", "5x"});
  EXPECT_EQ(p.exit, 2);
  EXPECT_EQ(p.err, "prog: --ttl (PARLEY_TEST_TTL): '5x' is not a duration (e.g. 250ms, 30s, 5m, 2h)\n");
  p = parse({"--count", "many"});
  EXPECT_EQ(p.exit, 2);
  EXPECT_EQ(p.err, "prog: --count (PARLEY_TEST_COUNT): Value many not in range 1 to 9\n");
  p = parse({"--bogus"});
  EXPECT_EQ(p.exit, 2);
  EXPECT_EQ(p.err, "prog: The following argument was not expected: --bogus\n");
}

TEST(parse_command_line, a_bad_environment_value_is_exit_2_too) {
  ::setenv("PARLEY_TEST_COUNT", "42", 1);
  auto p = parse({});
  ::unsetenv("PARLEY_TEST_COUNT");
  EXPECT_EQ(p.exit, 2);
  EXPECT_EQ(p.err, "prog: --count (PARLEY_TEST_COUNT): Value 42 not in range 1 to 9\n");
}

TEST(parse_command_line, help_is_exit_0_on_stdout) {
  auto p = parse({"--help"});
  EXPECT_EQ(p.exit, 0);
  EXPECT_NE(p.out.find("--ttl"), std::string::npos);
  EXPECT_EQ(p.err, "");
}

}  // namespace
}  // namespace parley
