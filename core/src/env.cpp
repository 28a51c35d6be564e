#include <parley/env.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace parley {

namespace {

bool key_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool key_char(char c) { return key_start(c) || (c >= '0' && c <= '9'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::variant<std::vector<dotenv_entry>, dotenv_error> parse_dotenv(std::string_view text) {
  std::vector<dotenv_entry> out;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.substr(0, 7) == "export ") line = trim(line.substr(7));
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return dotenv_error{line_no, "expected KEY=VALUE"};
    auto key = trim(line.substr(0, eq));
    if (key.empty() || !key_start(key.front())) return dotenv_error{line_no, "invalid variable name"};
    for (char c : key)
      if (!key_char(c)) return dotenv_error{line_no, "invalid variable name '" + std::string(key) + "'"};
    auto raw = trim(line.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
      const char q = raw.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == q) {
          closed = true;
          break;
        }
        if (q == '"' && c == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          switch (n) {
            case 'n': value.push_back('\n'); break;
            case 't': value.push_back('\t'); break;
            case 'r': value.push_back('\r'); break;
            default: value.push_back(n);
          }
          continue;
        }
        value.push_back(c);
      }
      if (!closed) return dotenv_error{line_no, "unterminated quoted value"};
      auto rest = trim(raw.substr(i + 1));
      if (!rest.empty() && rest.front() != '#') return dotenv_error{line_no, "text after the closing quote"};
    } else {
      for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '#' && i > 0 && (raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
          raw = trim(raw.substr(0, i));
          break;
        }
      }
      value = std::string(raw);
    }
    out.push_back({std::string(key), std::move(value)});
  }
  return out;
}

dotenv_load_result load_dotenv(const std::filesystem::path& path) {
  dotenv_load_result res;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return res;
  std::ifstream in(path);
  if (!in) {
    res.error = path.string() + ": cannot be read";
    return res;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = parse_dotenv(ss.str());
  if (auto* err = std::get_if<dotenv_error>(&parsed)) {
    res.error = path.string() + ":" + std::to_string(err->line) + ": " + err->message;
    return res;
  }
  for (const auto& e : std::get<std::vector<dotenv_entry>>(parsed)) {
    if (std::getenv(e.key.c_str())) continue;
    ::setenv(e.key.c_str(), e.value.c_str(), 0);
    ++res.loaded;
  }
  return res;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        std::chrono::milliseconds bare_unit) {
  using namespace std::chrono_literals;
  text = trim(text);
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || bare_unit <= 0ms) return std::nullopt;
  const auto suffix = text.substr(digits);
  std::chrono::milliseconds unit = bare_unit;
  if (suffix == "ms") {
    unit = 1ms;
  } else if (suffix == "s") {
    unit = 1s;
  } else if (suffix == "m" || suffix == "min") {
    unit = 1min;
  } else if (suffix == "h") {
    unit = 1h;
  } else if (suffix == "d") {
    unit = 24h;
  } else if (!suffix.empty()) {
    return std::nullopt;
  }
  // The count is checked against the limit digit by digit, so nothing below can overflow.
  const long long most = std::chrono::milliseconds(max_duration) / unit;
  long long n = 0;
  for (char c : text.substr(0, digits)) {
    n = n * 10 + (c - '0');
    if (n > most) return std::nullopt;
  }
  return unit * n;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace parley
