#include <parley/http/error.hpp>

#include <string>

namespace parley::http {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.http"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::invalid_url: return "not an absolute http(s) URL";
      case errc::unsupported_scheme: return "unsupported URL scheme (only http and https)";
      case errc::connect_timeout: return "timed out connecting to the server";
      case errc::read_timeout: return "timed out waiting for the server's response";
      case errc::proxy_failed: return "the proxy refused the tunnel";
      case errc::connection_closed: return "the server closed the connection before the response was complete";
      case errc::body_too_large: return "response body too large";
      case errc::cancelled: return "request cancelled";
      case errc::too_many_redirects: return "too many redirects";
      case errc::bad_redirect: return "redirect without a usable Location header";
      case errc::tls_setup: return "cannot set up TLS (CA store or CA file unreadable)";
      case errc::sse_line_too_long: return "event stream line or event too long";
    }
    return "unknown http error";
  }
};

}  // namespace

const boost::system::error_category& http_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace parley::http
