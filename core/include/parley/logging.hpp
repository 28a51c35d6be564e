#pragma once
// Process-wide logging: spdlog to stderr, one line per event, UTC ISO-8601 timestamps, e.g.
//   2026-11-26T22:00:00.123Z info gateway: listening on 127.0.0.1:3500
// Level names: trace, debug, info, warn, error, critical, off.
#include <string>
#include <string_view>

namespace parley {

// Installs the default logger named `component`. Returns false (and leaves logging at info) when
// `level` is not a level name.
bool setup_logging(std::string_view component, std::string_view level);
// True when `level` names a spdlog level (for config validation).
bool is_log_level(std::string_view level) noexcept;

}  // namespace parley
