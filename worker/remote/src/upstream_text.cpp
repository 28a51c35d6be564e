#include "upstream_text.hpp"

#include <boost/json/parse.hpp>

namespace parley::worker::remote {

std::string redact(std::string_view text, std::string_view secret) {
  std::string out(text);
  if (!secret.empty()) {
    for (auto pos = out.find(secret); pos != std::string::npos; pos = out.find(secret, pos))
      out.replace(pos, secret.size(), "[redacted]");
  }
  if (out.size() > max_logged_upstream_chars) {
    out.resize(max_logged_upstream_chars);
    out += "...";
  }
  for (auto& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

std::string error_message(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    if (auto* e = o.if_contains("error")) {
      if (e->is_string()) return std::string(e->get_string());
      if (e->is_object()) {
        if (auto* m = e->get_object().if_contains("message"); m && m->is_string()) return std::string(m->get_string());
      }
    }
    if (auto* m = o.if_contains("message"); m && m->is_string()) return std::string(m->get_string());
  }
  return std::string(body);
}

}  // namespace parley::worker::remote
