#pragma once
// Which browser Origins may open a WebSocket or read HTTP API responses (CORS).
// Allowed: no Origin header (Postman, CLIs), the same origin as the Host header, localhost
// origins (unless disabled), and the configured list ("*" allows any). Immutable after
// construction, so it is shared by all threads without locking.
#include <string>
#include <string_view>
#include <vector>

namespace parley::gateway {

class origin_policy {
 public:
  origin_policy(std::vector<std::string> allowed, bool allow_localhost);
  // `origin` is the Origin header ("" when absent), `host` the Host header.
  bool allows(std::string_view origin, std::string_view host) const;

 private:
  std::vector<std::string> allowed_;
  bool any_ = false;
  bool allow_localhost_;
};

}  // namespace parley::gateway
