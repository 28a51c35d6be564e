#include <parley/http/url.hpp>
#include <parley/redis/client.hpp>
#include <parley/redis/value.hpp>

#include <boost/url/parse.hpp>

#include <algorithm>
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
      case errc::cross_slot: return "redis cluster: the commands of one pipeline name keys of different slots";
      case errc::cluster_down: return "redis cluster: no node serves the slot right now";
      case errc::db_on_cluster: return "redis cluster has only database 0: remove the /db part of the redis url";
    }
    return "unknown redis error";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const category_impl instance;
  return instance;
}

namespace {
boost::system::result<config> parse_one_url(std::string_view url);
}  // namespace

boost::system::result<config> parse_url(std::string_view url) {
  // Seeds of a cluster: "redis://user:pw@h1:p1,h2:p2/db" is parsed as "redis://user:pw@h1:p1/db"
  // plus the bare "redis://h2:p2", so that each host obeys the single-host rules.
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return make_error_code(errc::bad_url);
  const auto authority_end = std::min(url.find_first_of("/?#", scheme.size()), url.size());
  const auto authority = url.substr(scheme.size(), authority_end - scheme.size());
  const auto at = authority.rfind('@');
  const auto hosts_from = at == std::string_view::npos ? 0 : at + 1;
  const auto comma = authority.find(',', hosts_from);
  if (comma == std::string_view::npos) return parse_one_url(url);
  std::string first(url.substr(0, scheme.size() + comma));
  first.append(url.substr(authority_end));
  auto cfg = parse_one_url(first);
  if (!cfg) return cfg;
  auto rest = authority.substr(comma + 1);
  for (;;) {
    const auto next = rest.find(',');
    auto host = rest.substr(0, next);
    auto seed = parse_one_url(std::string(scheme) + std::string(host));
    if (host.empty() || !seed || !seed->username.empty() || !seed->password.empty())
      return make_error_code(errc::bad_url);
    cfg->more_seeds.push_back({seed->host, seed->port});
    if (next == std::string_view::npos) break;
    rest.remove_prefix(next + 1);
  }
  if (cfg->db != 0) return make_error_code(errc::db_on_cluster);
  return cfg;
}

namespace {

boost::system::result<config> parse_one_url(std::string_view url) {
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

}  // namespace

}  // namespace parley::redis
