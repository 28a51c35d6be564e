#pragma once
// Absolute http(s) URLs as the client needs them: where to connect and what to send as the
// request target and Host header.
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace parley::http {

struct url {
  std::string scheme;  // "http" or "https"
  std::string host;    // DNS name or IP address, without IPv6 brackets
  std::uint16_t port = 0;
  std::string target;  // path and query, at least "/"
  std::string userinfo;  // "user:password" when present (proxy URLs), percent-decoded

  bool tls() const noexcept { return scheme == "https"; }
  bool default_port() const noexcept { return port == (tls() ? 443 : 80); }
  // host[:port] as sent in the Host header and CONNECT line (IPv6 in brackets).
  std::string authority() const;
  // The URL without userinfo: safe to log.
  std::string str() const;
};

// True for a host name as a resolver takes it: letters, digits, '-', '.' and '_' (percent-decoded
// first). What else a URL's reg-name may hold (':', '/', NUL, CR LF once decoded) would make a
// different authority, Host header or lookup than the URL says.
bool is_host_name(std::string_view host) noexcept;

// Parses an absolute http or https URL. A missing path becomes "/". The host must be a host name
// (is_host_name), an IPv4 or an IPv6 address; IPvFuture literals are refused.
boost::system::result<url> parse_url(std::string_view text);

// Resolves a (possibly relative) reference against `base`, as a browser follows a Location header.
boost::system::result<url> resolve_url(const url& base, std::string_view reference);

}  // namespace parley::http
