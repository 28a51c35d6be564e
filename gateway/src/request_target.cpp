#include <parley/gateway/request_target.hpp>

#include <boost/url/parse.hpp>

namespace parley::gateway {

std::optional<request_target> parse_request_target(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  const boost::urls::url_view& u = *parsed;
  request_target out;
  out.path = u.path();
  auto first = [&](std::string_view key) -> std::optional<std::string> {
    auto it = u.params().find(key);
    if (it == u.params().end()) return std::nullopt;
    return std::string((*it).value);
  };
  out.token = first("token");
  out.name = first("name");
  out.last_event_id = first("last_event_id");
  out.user = first("user");
  out.cursor = first("cursor");
  out.limit = first("limit");
  return out;
}

}  // namespace parley::gateway
