#include <parley/logging.hpp>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <array>

namespace parley {

namespace {
constexpr std::array<std::string_view, 7> level_names = {"trace", "debug", "info", "warn",
                                                         "error", "critical", "off"};
}

bool is_log_level(std::string_view level) noexcept {
  for (auto n : level_names)
    if (n == level) return true;
  return false;
}

bool setup_logging(std::string_view component, std::string_view level) {
  // stderr_sink_mt: whole lines under one lock, so threads never interleave within a line.
  auto logger = std::make_shared<spdlog::logger>(std::string(component),
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v", spdlog::pattern_time_type::utc);
  const bool ok = is_log_level(level);
  logger->set_level(ok ? spdlog::level::from_str(std::string(level)) : spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
  return ok;
}

}  // namespace parley
