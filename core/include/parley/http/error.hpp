#pragma once
// Errors of the HTTP client and the Server-Sent Events parser. Transport errors from Asio,
// Beast and OpenSSL pass through unchanged (their messages name the cause, e.g. "certificate
// verify failed"); the conditions below are the ones the client itself decides.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::http {

enum class errc {
  invalid_url = 1,     // not an absolute http(s) URL
  unsupported_scheme,  // a scheme other than http or https
  connect_timeout,     // resolve + connect + proxy + TLS handshake took longer than connect_timeout
  read_timeout,        // no byte arrived within read_timeout
  proxy_failed,        // the proxy refused the CONNECT tunnel
  connection_closed,   // the server closed the connection before the response was complete
  body_too_large,      // a buffered body exceeded its limit
  cancelled,           // the caller's stop_token was triggered
  too_many_redirects,
  bad_redirect,        // a 3xx without a usable Location
  tls_setup,           // the TLS context could not be configured (e.g. unreadable CA file)
  sse_line_too_long,   // an event stream line or event exceeded the parser's limit
};

const boost::system::error_category& http_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), http_category()};
}

}  // namespace parley::http

template <>
struct boost::system::is_error_code_enum<parley::http::errc> : std::true_type {};
