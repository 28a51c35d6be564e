// parley-gateway: the HTTP + WebSocket front of Parley. Configuration: flags, environment, and a
// `.env` file in the working directory (see docs/configuration.md).
#include <parley/env.hpp>
#include <parley/gateway/config.hpp>
#include <parley/gateway/server.hpp>
#include <parley/logging.hpp>

#include <spdlog/spdlog.h>

#include <cstdio>

int main(int argc, char** argv) {
  const auto dotenv = parley::load_dotenv(".env");
  if (!dotenv.error.empty()) {
    std::fprintf(stderr, "parley-gateway: %s\n", dotenv.error.c_str());
    return 2;
  }
  parley::gateway::gateway_config cfg;
  CLI::App app{"parley-gateway: HTTP + WebSocket chat API of Parley"};
  parley::gateway::register_options(app, cfg);
  CLI11_PARSE(app, argc, argv);
  if (auto err = parley::gateway::validate(cfg)) {
    std::fprintf(stderr, "parley-gateway: %s\n", err->c_str());
    return 2;
  }
  parley::setup_logging("gateway", cfg.log_level);
  try {
    return parley::gateway::run_server(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
