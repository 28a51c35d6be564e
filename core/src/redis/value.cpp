#include <parley/http/url.hpp>
#include <parley/redis/client.hpp>
#include <parley/redis/value.hpp>

#include <boost/url/parse.hpp>

#include <charconv>

namespace parley::redis {

std::optional<std::string_view> value::as_string() const noexcept {
  if (type == kind::string || type == kind::status) return std::string_view{str};
  return std::nullopt;
}

std::optional<long long> value::as_integer() const noexcept {
  if (type == kind::integer) return integer;
  if (type != kind::string) return std::nullopt;
  long long out = 0;
  auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), out);
  if (ec != std::errc{} || p != str.data() + str.size()) return std::nullopt;
  return out;
}

namespace {

class category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.redis"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::not_connected: return "redis is not reachable";
      case errc::connection_lost: return "redis connection lost";
      case errc::timeout: return "redis command timed out";
      case errc::protocol_error: return "redis protocol error";
      case errc::overloaded: return "too many redis commands queued";
      case errc::shut_down: return "redis client stopped";
      case errc::bad_url: return "invalid redis url";
      case errc::reply_error: return "redis replied with an error";
      case errc::handshake_refused: return "redis refused the connection handshake";
      case errc::loading: return "redis is loading its dataset";
    }
    return "unknown redis error";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const category_impl instance;
  return instance;
}

boost::system::result<config> parse_url(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return make_error_code(errc::bad_url);
  const auto& u = *parsed;
  if (u.scheme() != "redis") return make_error_code(errc::bad_url);
  config cfg;
  if (!u.has_authority() || u.encoded_host().empty()) return make_error_code(errc::bad_url);
  // As for http URLs: a name, an IPv4 or an IPv6 address (host_address() has no brackets).
  if (u.host_type() == boost::urls::host_type::ipvfuture) return make_error_code(errc::bad_url);
  cfg.host = u.host_address();
  if (u.host_type() == boost::urls::host_type::name && !http::is_host_name(cfg.host))
    return make_error_code(errc::bad_url);
  if (u.has_port()) {
    auto p = u.port();
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535)
      return make_error_code(errc::bad_url);
    cfg.port = static_cast<std::uint16_t>(v);
  }
  if (u.has_userinfo()) {
    cfg.username = u.user();
    if (u.has_password()) cfg.password = u.password();
    // redis://:secret@host has an empty user: AUTH with the password alone.
  }
  auto path = u.path();
  // Boost.URL 1.81 lets a path without '/' follow an IP literal or a port ("redis://[::1]5").
  if (!path.empty() && path.front() != '/') return make_error_code(errc::bad_url);
  if (path.size() > 1) {
    std::string_view db = path;
    db.remove_prefix(1);
    int v = 0;
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), v);
    if (ec != std::errc{} || end != db.data() + db.size() || v < 0) return make_error_code(errc::bad_url);
    cfg.db = v;
  }
  if (u.has_query() || u.has_fragment()) return make_error_code(errc::bad_url);
  return cfg;
}

}  // namespace parley::redis
