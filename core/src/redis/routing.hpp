#pragma once
// Redis Cluster routing without sockets: key slots (CRC16 with the hash-tag rule), the keys a
// command declares, where a pipeline goes, the slot map from CLUSTER SHARDS, and the redirect
// and refusal replies (MOVED, ASK, TRYAGAIN, CLUSTERDOWN). See the Redis Cluster specification,
// "Keys distribution model" and "Redirection and resharding".
//
// A pipeline is routed as a whole: every key of every command in it must hash to one slot, and
// keyless commands (PING, WAIT, PUBLISH...) go with it. A pipeline that spans slots is refused
// (errc::cross_slot) rather than split, because the callers' pipelines are what make their
// replies consistent with each other; a caller that wants two slots makes two calls.
//
// Thread-safety: pure functions; slot_map is a value.
#include <parley/redis/client.hpp>
#include <parley/redis/value.hpp>

#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::redis::detail {

inline constexpr std::size_t slot_count = 16384;

std::uint16_t crc16(std::string_view data) noexcept;
// The key's slot: CRC16 of the hash tag (the text between the first '{' and the next '}', when
// not empty) or of the whole key, modulo 16384.
std::uint16_t key_slot(std::string_view key) noexcept;

// The argument positions of the keys `cmd` declares (none for keyless commands). Covers every
// command Parley sends; an unknown command is taken to have its key at position 1, as most do.
std::vector<std::size_t> key_positions(const command& cmd);

// Where a pipeline goes: nullopt when no command names a key (any node serves it), the common
// slot otherwise, errc::cross_slot when keys hash to different slots.
boost::system::result<std::optional<std::uint16_t>> pipeline_slot(const std::vector<command>& cmds);

struct node_address {
  std::string host;
  std::uint16_t port = 0;
  friend bool operator==(const node_address&, const node_address&) = default;
  std::string str() const { return host + ":" + std::to_string(port); }
};

// Which master serves each slot. `owner[s]` indexes `masters`, -1 when no master serves it
// (the cluster is down for that slot).
struct slot_map {
  std::vector<node_address> masters;
  std::vector<node_address> replicas;  // of every shard; asked for the map when masters fail
  std::array<std::int16_t, slot_count> owner;
  slot_map() { owner.fill(-1); }
  const node_address* master_of(std::uint16_t slot) const noexcept {
    auto i = owner[slot];
    return i < 0 ? nullptr : &masters[static_cast<std::size_t>(i)];
  }
  std::size_t covered() const noexcept;
};

// Parses the reply of CLUSTER SHARDS (Redis 7.0, RESP2: maps as flat key/value arrays). A
// shard's master is its node with role "master"; a master whose health is not "online" serves
// nothing (its slots stay unowned until a replica is promoted). The address is the node's
// "endpoint" when it is an address, else its "ip". Unknown fields are ignored (newer servers add
// some); wrong types are errc::protocol_error.
boost::system::result<slot_map> parse_cluster_shards(const value& reply);

// The kind of a reply as far as routing is concerned.
enum class reply_kind { plain, moved, ask, tryagain, clusterdown };
reply_kind classify(const value& reply) noexcept;

// "MOVED <slot> <host>:<port>" and "ASK <slot> <host>:<port>"; nullopt for any other reply. An
// empty host ("MOVED 3999 :6380") means the node that answered, which the caller knows.
struct redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  node_address to;
};
std::optional<redirect> parse_redirect(const value& reply);

}  // namespace parley::redis::detail
