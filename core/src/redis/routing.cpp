#include "routing.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace parley::redis::detail {

namespace {

constexpr std::array<std::uint16_t, 256> crc_table = [] {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i << 8);
    for (int b = 0; b < 8; ++b) c = static_cast<std::uint16_t>((c & 0x8000) ? (c << 1) ^ 0x1021 : c << 1);
    t[i] = c;
  }
  return t;
}();

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
         });
}

bool is_one_of(std::string_view verb, std::initializer_list<std::string_view> names) noexcept {
  return std::any_of(names.begin(), names.end(), [&](std::string_view n) { return iequals(verb, n); });
}

template <class T>
std::optional<T> to_number(std::string_view s) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Value of `name` in a flat key/value array, or nullptr.
const value* field(const value& flat, std::string_view name) {
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2)
    if (flat.elements[i].as_string() == name) return &flat.elements[i + 1];
  return nullptr;
}

}  // namespace

std::uint16_t crc16(std::string_view data) noexcept {
  std::uint16_t crc = 0;
  for (unsigned char c : data) crc = static_cast<std::uint16_t>((crc << 8) ^ crc_table[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

std::uint16_t key_slot(std::string_view key) noexcept {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) % slot_count);
}

std::vector<std::size_t> key_positions(const command& cmd) {
  std::vector<std::size_t> out;
  if (cmd.empty()) return out;
  const std::string_view verb = cmd[0];
  if (is_one_of(verb, {"PING", "INFO", "CLUSTER", "ASKING", "READONLY", "READWRITE", "PUBLISH", "SCRIPT",
                       "CLIENT", "AUTH", "SELECT", "HELLO", "WAIT", "DBSIZE", "FLUSHALL", "FLUSHDB", "TIME",
                       "COMMAND", "CONFIG", "MULTI", "EXEC", "DISCARD", "ECHO", "PUBSUB", "SUBSCRIBE",
                       "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "BGREWRITEAOF", "DEBUG", "ROLE"}))
    return out;
  if (is_one_of(verb, {"EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO"})) {
    if (cmd.size() < 3) return out;
    auto n = to_number<std::size_t>(cmd[2]).value_or(0);
    for (std::size_t i = 3; i < cmd.size() && i < 3 + n; ++i) out.push_back(i);
    return out;
  }
  if (is_one_of(verb, {"XREAD", "XREADGROUP"})) {
    for (std::size_t i = 1; i < cmd.size(); ++i) {
      if (!iequals(cmd[i], "STREAMS")) continue;
      const std::size_t rest = cmd.size() - i - 1;
      for (std::size_t k = 0; k < rest / 2; ++k) out.push_back(i + 1 + k);
      break;
    }
    return out;
  }
  if (is_one_of(verb, {"XINFO", "XGROUP", "OBJECT", "MEMORY"})) {
    // XGROUP HELP / XINFO HELP name no key.
    if (cmd.size() > 2) out.push_back(2);
    return out;
  }
  if (is_one_of(verb, {"DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "SSUBSCRIBE", "SUNSUBSCRIBE"})) {
    for (std::size_t i = 1; i < cmd.size(); ++i) out.push_back(i);
    return out;
  }
  if (is_one_of(verb, {"MSET", "MSETNX"})) {
    for (std::size_t i = 1; i < cmd.size(); i += 2) out.push_back(i);
    return out;
  }
  if (cmd.size() > 1) out.push_back(1);
  return out;
}

boost::system::result<std::optional<std::uint16_t>> pipeline_slot(const std::vector<command>& cmds) {
  std::optional<std::uint16_t> slot;
  for (const auto& cmd : cmds) {
    for (auto i : key_positions(cmd)) {
      const auto s = key_slot(cmd[i]);
      if (slot && *slot != s) return make_error_code(errc::cross_slot);
      slot = s;
    }
  }
  return slot;
}

std::size_t slot_map::covered() const noexcept {
  return static_cast<std::size_t>(std::count_if(owner.begin(), owner.end(), [](std::int16_t o) { return o >= 0; }));
}

boost::system::result<slot_map> parse_cluster_shards(const value& reply) {
  const auto bad = make_error_code(errc::protocol_error);
  if (!reply.is_array()) return bad;
  slot_map map;
  for (const auto& shard : reply.elements) {
    if (!shard.is_array() || shard.elements.size() % 2 != 0) return bad;
    const auto* slots = field(shard, "slots");
    const auto* nodes = field(shard, "nodes");
    if (!slots || !nodes || !slots->is_array() || !nodes->is_array() || slots->elements.size() % 2 != 0) return bad;
    std::optional<node_address> master;
    for (const auto& node : nodes->elements) {
      if (!node.is_array() || node.elements.size() % 2 != 0) return bad;
      const auto* role = field(node, "role");
      const auto* port = field(node, "port");
      const auto* ip = field(node, "ip");
      const auto* endpoint = field(node, "endpoint");
      const auto* health = field(node, "health");
      if (!role || !role->as_string() || !port || !port->as_integer() || !ip || !ip->as_string()) return bad;
      const auto p = *port->as_integer();
      if (p <= 0 || p > 65535) return bad;
      node_address addr{std::string(*ip->as_string()), static_cast<std::uint16_t>(p)};
      // "endpoint" is what clients are told to use (cluster-preferred-endpoint-type); "?" means
      // unknown, and a hostname endpoint is only used when it is set.
      if (endpoint && endpoint->as_string() && !endpoint->as_string()->empty() && *endpoint->as_string() != "?")
        addr.host = std::string(*endpoint->as_string());
      const bool online = !health || health->as_string() == "online";
      if (*role->as_string() == "master" && online) master = addr;
      else map.replicas.push_back(std::move(addr));
    }
    for (std::size_t i = 0; i < slots->elements.size(); i += 2) {
      auto from = slots->elements[i].as_integer();
      auto to = slots->elements[i + 1].as_integer();
      if (!from || !to || *from < 0 || *to < *from || *to >= static_cast<long long>(slot_count)) return bad;
    }
    // A node that came up as a master of nothing (a replica not yet attached shows so) serves
    // no slot: it is asked for the map, never sent commands.
    if (master && slots->elements.empty()) {
      map.replicas.push_back(std::move(*master));
      master.reset();
    }
    if (!master) continue;
    map.masters.push_back(std::move(*master));
    const auto index = static_cast<std::int16_t>(map.masters.size() - 1);
    for (std::size_t i = 0; i < slots->elements.size(); i += 2) {
      const auto from = static_cast<std::size_t>(*slots->elements[i].as_integer());
      const auto to = static_cast<std::size_t>(*slots->elements[i + 1].as_integer());
      std::fill(map.owner.begin() + from, map.owner.begin() + to + 1, index);
    }
  }
  return map;
}

reply_kind classify(const value& reply) noexcept {
  if (!reply.is_error()) return reply_kind::plain;
  const std::string_view s = reply.str;
  if (s.starts_with("MOVED ")) return reply_kind::moved;
  if (s.starts_with("ASK ")) return reply_kind::ask;
  if (s.starts_with("TRYAGAIN")) return reply_kind::tryagain;
  if (s.starts_with("CLUSTERDOWN")) return reply_kind::clusterdown;
  return reply_kind::plain;
}

std::optional<redirect> parse_redirect(const value& reply) {
  const auto kind = classify(reply);
  if (kind != reply_kind::moved && kind != reply_kind::ask) return std::nullopt;
  std::string_view s = reply.str;
  s.remove_prefix(kind == reply_kind::ask ? 4 : 6);
  const auto space = s.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto slot = to_number<unsigned>(s.substr(0, space));
  auto addr = s.substr(space + 1);
  const auto colon = addr.rfind(':');
  if (!slot || *slot >= slot_count || colon == std::string_view::npos) return std::nullopt;
  auto port = to_number<unsigned>(addr.substr(colon + 1));
  if (!port || *port == 0 || *port > 65535) return std::nullopt;
  auto host = addr.substr(0, colon);
  // An IPv6 address may come bracketed.
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return redirect{kind == reply_kind::ask, static_cast<std::uint16_t>(*slot),
                  node_address{std::string(host), static_cast<std::uint16_t>(*port)}};
}

}  // namespace parley::redis::detail
