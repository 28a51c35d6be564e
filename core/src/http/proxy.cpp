#include <parley/http/proxy.hpp>

#include <parley/http/error.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace parley::http {
namespace {

std::string env_either(const char* lower, const char* upper) {
  if (const char* v = std::getenv(lower); v && *v) return v;
  if (const char* v = std::getenv(upper); v && *v) return v;
  return {};
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

proxy_settings proxy_settings::from_env() {
  proxy_settings p;
  p.https_proxy = env_either("https_proxy", "HTTPS_PROXY");
  p.http_proxy = env_either("http_proxy", "HTTP_PROXY");
  p.no_proxy = env_either("no_proxy", "NO_PROXY");
  return p;
}

bool proxy_settings::bypassed(const url& target) const {
  const std::string host = lowercase(target.host);
  std::string_view rest = no_proxy;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    std::string pattern = lowercase(entry);
    // An entry may carry a port ("example.com:8443"); IPv6 entries come in brackets.
    if (pattern.front() == '[') {
      auto close = pattern.find(']');
      if (close == std::string::npos) continue;
      std::string port = pattern.substr(close + 1);
      pattern = pattern.substr(1, close - 1);
      if (port.size() > 1 && port[0] == ':' && port.substr(1) != std::to_string(target.port)) continue;
    } else if (auto colon = pattern.rfind(':');
               colon != std::string::npos && pattern.find(':') == colon) {
      if (pattern.substr(colon + 1) != std::to_string(target.port)) continue;
      pattern.resize(colon);
    }
    if (!pattern.empty() && pattern.front() == '.') pattern.erase(0, 1);
    if (host == pattern) return true;
    if (host.size() > pattern.size() && host.ends_with(pattern) &&
        host[host.size() - pattern.size() - 1] == '.')
      return true;
  }
  return false;
}

boost::system::result<std::optional<url>> proxy_settings::for_target(const url& target) const {
  const std::string& spec = target.tls() ? https_proxy : http_proxy;
  if (spec.empty() || bypassed(target)) return std::optional<url>{};
  std::string text = spec.find("://") == std::string::npos ? "http://" + spec : spec;
  auto u = parse_url(text);
  if (!u) return u.error();
  // TLS to the proxy itself is not supported; an https:// proxy URL is a configuration error.
  if (u->tls()) return errc::unsupported_scheme;
  return std::optional<url>{std::move(*u)};
}

}  // namespace parley::http
