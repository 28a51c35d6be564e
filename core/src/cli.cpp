#include <parley/cli.hpp>
#include <parley/env.hpp>

#include <cctype>
#include <cstdio>

namespace parley {

namespace {

// CLI11's messages name the flag ("--temperature: Value 9 not in range ..."); an operator may have
// set the environment variable instead, so the first flag named gets its variable beside it.
std::string describe(const CLI::App& app, std::string message) {
  for (auto& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  const auto at = message.find("--");
  if (at == std::string::npos) return message;
  auto end = at + 2;
  while (end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) || message[end] == '-')) ++end;
  const auto* opt = app.get_option_no_throw(message.substr(at, end - at));
  if (opt == nullptr || opt->get_envname().empty()) return message;
  return message.insert(end, " (" + opt->get_envname() + ")");
}

}  // namespace

std::optional<int> parse_command_line(CLI::App& app, std::string_view program, int argc, char** argv) {
  if (auto env = load_dotenv(".env"); !env.error.empty()) return bad_setting(program, env.error);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and its kin are "errors" whose exit code is success: print what they ask for.
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    return bad_setting(program, describe(app, e.what()));
  }
  return std::nullopt;
}

CLI::Option* add_redis_url_option(CLI::App& app, redis::config& target, const std::string& description) {
  std::string shown = "redis://" + target.host + ":" + std::to_string(target.port);
  if (target.db != 0) shown += "/" + std::to_string(target.db);
  auto* opt = app.add_option_function<std::string>(
      "--redis-url",
      [&target](const std::string& text) {
        auto parsed = redis::parse_url(text);
        if (!parsed && parsed.error() == redis::errc::db_on_cluster)
          throw CLI::ValidationError("--redis-url", "'" + text + "': " + parsed.error().message());
        if (!parsed) {
          throw CLI::ValidationError(
              "--redis-url", "'" + text + "' is not a redis://[user[:password]@]host[:port][,host[:port]...][/db] URL");
        }
        target = std::move(*parsed);
      },
      description);
  opt->envname("REDIS_URL")->type_name("URL")->default_str(shown);
  return opt;
}

int bad_setting(std::string_view program, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
               static_cast<int>(message.size()), message.data());
  return 2;
}

}  // namespace parley
