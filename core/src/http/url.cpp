#include <parley/http/url.hpp>

#include <parley/http/error.hpp>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <charconv>

namespace parley::http {

std::string url::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port()) out += ":" + std::to_string(port);
  return out;
}

std::string url::str() const { return scheme + "://" + authority() + target; }

bool is_host_name(std::string_view host) noexcept {
  if (host.empty()) return false;
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
      return false;
  return true;
}

namespace {

boost::system::result<url> from_boost(const boost::urls::url_view& u) {
  url out;
  if (!u.has_scheme() || !u.has_authority()) return errc::invalid_url;
  out.scheme = u.scheme();
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") return errc::unsupported_scheme;
  switch (u.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6: out.host = u.host_address(); break;
    case boost::urls::host_type::name:
      out.host = u.host();
      if (!is_host_name(out.host)) return errc::invalid_url;
      break;
    default: return errc::invalid_url;
  }
  if (u.has_port()) {
    auto p = u.port();
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc{} || ptr != p.data() + p.size() || v == 0 || v > 65535) return errc::invalid_url;
    out.port = static_cast<std::uint16_t>(v);
  } else {
    out.port = out.tls() ? 443 : 80;
  }
  out.target = u.encoded_path();
  // Boost.URL 1.81 lets a path without '/' follow an IP literal or a port ("http://h:80x").
  if (!out.target.empty() && out.target.front() != '/') return errc::invalid_url;
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  if (u.has_userinfo()) out.userinfo = u.userinfo();
  return out;
}

}  // namespace

boost::system::result<url> parse_url(std::string_view text) {
  auto u = boost::urls::parse_absolute_uri(text);
  if (!u) return errc::invalid_url;
  return from_boost(*u);
}

boost::system::result<url> resolve_url(const url& base, std::string_view reference) {
  auto ref = boost::urls::parse_uri_reference(reference);
  if (!ref) return errc::bad_redirect;
  boost::urls::url b;
  b.set_scheme(base.scheme);
  if (base.host.find(':') != std::string::npos) {
    auto ip = boost::urls::parse_ipv6_address(base.host);
    if (!ip) return errc::bad_redirect;
    b.set_host_ipv6(*ip);
  } else {
    b.set_host(base.host);
  }
  b.set_port_number(base.port);
  auto q = base.target.find('?');
  b.set_encoded_path(base.target.substr(0, q));
  if (q != std::string::npos) b.set_encoded_query(base.target.substr(q + 1));
  boost::urls::url dest;
  if (auto r = boost::urls::resolve(b, *ref, dest); !r) return errc::bad_redirect;
  return from_boost(dest);
}

}  // namespace parley::http
