#pragma once
// Proxy selection the way curl and most HTTP clients do it: HTTPS_PROXY for https targets,
// HTTP_PROXY for http targets (lower-case names win when both are set), NO_PROXY to bypass.
#include <parley/http/url.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace parley::http {

struct proxy_settings {
  std::string http_proxy;   // proxy for http:// targets; empty means direct
  std::string https_proxy;  // proxy for https:// targets (a CONNECT tunnel); empty means direct
  // Comma-separated hosts that bypass the proxy: "*" (everything), a host name (matches itself
  // and its subdomains, a leading dot is allowed), or an IP address; an optional :port limits it.
  std::string no_proxy;

  // Reads https_proxy/HTTPS_PROXY, http_proxy/HTTP_PROXY and no_proxy/NO_PROXY.
  static proxy_settings from_env();

  // The proxy to use for `target`, or nullopt for a direct connection. A proxy URL without a
  // scheme is taken as http://. An unparsable proxy URL is an error rather than a silent
  // direct connection.
  boost::system::result<std::optional<url>> for_target(const url& target) const;

  bool bypassed(const url& target) const;
};

}  // namespace parley::http
