// parley-gateway: the HTTP + WebSocket front of Parley. Configuration: flags, environment, and a
// `.env` file in the working directory (see docs/configuration.md).
#include <parley/cli.hpp>
#include <parley/gateway/config.hpp>
#include <parley/gateway/server.hpp>
#include <parley/logging.hpp>

#include <spdlog/spdlog.h>

namespace {
constexpr std::string_view program = "parley-gateway";
}  // namespace

int main(int argc, char** argv) {
  parley::gateway::gateway_config cfg;
  CLI::App app{"parley-gateway: HTTP + WebSocket chat API of Parley"};
  parley::gateway::register_options(app, cfg);
  if (auto exit = parley::parse_command_line(app, program, argc, argv)) return *exit;
  if (auto err = parley::gateway::validate(cfg)) return parley::bad_setting(program, *err);
  parley::setup_logging("gateway", cfg.log_level);
  try {
    return parley::gateway::run_server(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
