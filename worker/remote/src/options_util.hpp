#pragma once
// CLI11 helpers shared by the remote backends' and the model fetch's register_options.
#include <parley/env.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

namespace parley::worker::remote {

// A duration flag ("500ms", "30s", "2m"; a bare number is `bare_unit`) bound to `target`.
inline CLI::Option* add_duration(CLI::App& app, const std::string& flag, const std::string& env,
                                 std::chrono::milliseconds& target, std::chrono::milliseconds bare_unit,
                                 const std::string& help) {
  return app
      .add_option_function<std::string>(
          flag,
          [&target, flag, bare_unit](const std::string& text) {
            auto d = parse_duration(text, bare_unit);
            if (!d) throw CLI::ValidationError(flag, "expected a duration like 500ms, 5s or 2m");
            target = *d;
          },
          help)
      ->envname(env)
      ->default_str(format_duration(target))
      ->type_name("DURATION");
}

}  // namespace parley::worker::remote
