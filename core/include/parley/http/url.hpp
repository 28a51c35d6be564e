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

// Parses an absolute http or https URL. A missing path becomes "/".
boost::system::result<url> parse_url(std::string_view text);

// Resolves a (possibly relative) reference against `base`, as a browser follows a Location header.
boost::system::result<url> resolve_url(const url& base, std::string_view reference);

}  // namespace parley::http
