#include <parley/gateway/origin_policy.hpp>

#include <algorithm>
#include <cctype>

namespace parley::gateway {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

// "scheme://host[:port]" -> host[:port]; "" when not of that form.
std::string_view authority(std::string_view origin) {
  auto p = origin.find("://");
  if (p == std::string_view::npos) return {};
  auto rest = origin.substr(p + 3);
  if (rest.find('/') != std::string_view::npos) return {};
  return rest;
}

std::string_view host_only(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.find(':'));
}

}  // namespace

origin_policy::origin_policy(std::vector<std::string> allowed, bool allow_localhost)
    : allow_localhost_(allow_localhost) {
  for (auto& a : allowed) {
    auto l = lower(a);
    if (l.empty()) continue;
    if (l == "*") any_ = true;
    allowed_.push_back(std::move(l));
  }
}

bool origin_policy::allows(std::string_view origin, std::string_view host) const {
  if (origin.empty() || any_) return true;
  const auto o = lower(origin);
  if (std::find(allowed_.begin(), allowed_.end(), o) != allowed_.end()) return true;
  const auto auth = authority(o);
  if (auth.empty()) return false;  // "null" and other opaque origins
  if (auth == lower(host)) return true;
  if (allow_localhost_) {
    const auto h = host_only(auth);
    if (h == "localhost" || h == "127.0.0.1" || h == "[::1]") return true;
  }
  return false;
}

}  // namespace parley::gateway
