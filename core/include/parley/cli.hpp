#pragma once
// CLI11 helpers shared by the binaries and their backends: duration options that take "250ms",
// "30s", "5m", "2h" (or a bare number in a given unit) from a flag or an environment variable.
#include <parley/env.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

namespace parley {

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
      description + " (duration: 250ms, 30s, 5m, 2h; a bare number is in " +
          format_duration(bare_unit).substr(1) + ")");
  opt->type_name("DURATION");
  opt->default_str(format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(target)));
  if (!env.empty()) opt->envname(env);
  return opt;
}

}  // namespace parley
