#pragma once
// CLI11 helpers shared by the binaries and their backends: the parse of the command line (exit
// statuses, the one line of a bad setting), duration options that take "250ms", "30s", "5m", "2h"
// (or a bare number in a given unit), and the Redis URL option.
#include <parley/env.hpp>
#include <parley/redis/client.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace parley {

// The start of each binary's main(): loads `.env` from the working directory into the environment
// (variables already set win), then parses the command line into `app`. Returns the exit status
// when the program must end now: 0 after --help (printed to stdout), 2 after a bad setting, with
// one line on stderr naming the setting and saying why (see bad_setting); nullopt to go on.
std::optional<int> parse_command_line(CLI::App& app, std::string_view program, int argc, char** argv);

// Writes "<program>: <message>" to stderr as one line and returns 2, the exit status of a bad
// setting (scripts/run.sh does not restart a worker that exits with it).
int bad_setting(std::string_view program, std::string_view message);

// A duration flag bound to `target`, whose current value is the default --help shows. A value
// that is not a duration fails the parse with CLI::ValidationError naming the flag.
template <class Duration>
CLI::Option* add_duration_option(CLI::App& app, const std::string& flag, Duration& target,
                                 const std::string& description, const std::string& env,
                                 std::chrono::milliseconds bare_unit = std::chrono::seconds(1)) {
  auto* opt = app.add_option_function<std::string>(
      flag,
      [&target, flag, bare_unit](const std::string& text) {
        auto d = parse_duration(text, bare_unit);
        if (!d) throw CLI::ValidationError(flag, "'" + text + "' is not a duration (e.g. 250ms, 30s, 5m, 2h)");
        target = std::chrono::duration_cast<Duration>(*d);
      },
      description + " (duration: 250ms, 30s, 5m, 2h, 30d; a bare number is in " +
          format_duration(bare_unit).substr(1) + ")");
  opt->type_name("DURATION");
  opt->default_str(format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(target)));
  if (!env.empty()) opt->envname(env);
  return opt;
}

// --redis-url (environment REDIS_URL): redis://[user[:password]@]host[:port][/db], parsed into
// `target` as the command line is, so a bad URL fails the parse (CLI::ValidationError naming the
// flag) and nothing parses it again later.
CLI::Option* add_redis_url_option(CLI::App& app, redis::config& target, const std::string& description);

}  // namespace parley
