// URL parsing: parley::http::parse_url and resolve_url (remote backends, proxies, redirects) and
// parley::redis::parse_url (REDIS_URL).
// Properties: an accepted URL has a known scheme, a host that is a DNS name or an IP address
// (nothing that could end up in a Host header or a resolver other than itself), a port and a
// target starting with '/'; printing it and parsing that again gives the same URL; resolving a
// redirect never throws and yields a URL of the same kind.
#include "check.hpp"

#include <parley/http/url.hpp>
#include <parley/redis/client.hpp>

#include <boost/url/grammar/parse.hpp>
#include <boost/url/rfc/ipv6_address_rule.hpp>

#include <cstdint>
#include <exception>
#include <string>

namespace h = parley::http;
using parley::fuzz::require;

namespace {

bool plain_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos)
    return boost::urls::grammar::parse(host, boost::urls::ipv6_address_rule).has_value();
  for (unsigned char c : host)
    if (!(std::isalnum(c) || c == '-' || c == '.' || c == '_')) return false;
  return !host.empty();
}

void check(const h::url& u, bool reparse) {
  require(u.scheme == "http" || u.scheme == "https", "scheme is http or https");
  require(plain_host(u.host), "host is a DNS name or an IP address");
  require(u.port != 0, "port is set");
  require(!u.target.empty() && u.target.front() == '/', "target starts with /");
  if (!reparse) return;
  auto again = h::parse_url(u.str());
  require(again.has_value(), "str() parses again");
  require(again->scheme == u.scheme && again->host == u.host && again->port == u.port && again->target == u.target,
          "str() parses to the same URL");
  require(again->userinfo.empty(), "str() carries no userinfo");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = h::parse_url(text);
  if (u) check(*u, true);

  // A redirect: the first line is the base (or a fixed one), the rest the Location.
  const auto nl = text.find('\n');
  auto base = h::parse_url(text.substr(0, nl));
  if (!base) base = h::parse_url("https://example.com/a/b?q=1");
  const auto reference = nl == std::string_view::npos ? text : text.substr(nl + 1);
  try {
    auto r = h::resolve_url(*base, reference);
    if (r) check(*r, true);
  } catch (const std::exception& e) {
    require(false, std::string("resolve_url does not throw: ") + e.what());
  }

  auto redis = parley::redis::parse_url(text);
  if (redis) {
    require(plain_host(redis->host), "redis host is a DNS name or an IP address");
    require(redis->port != 0 && redis->db >= 0, "redis port and db are valid");
  }
  return 0;
}
