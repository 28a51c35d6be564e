#pragma once
// A decoded RESP reply and the error codes of the Redis client.
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::redis {

struct value {
  enum class kind { nil, string, status, error, integer, array };
  kind type = kind::nil;
  std::string str;          // string, status and error text
  long long integer = 0;    // integer
  std::vector<value> elements;  // array (RESP2 arrays, and maps flattened as key, value, ...)

  bool is_nil() const noexcept { return type == kind::nil; }
  bool is_error() const noexcept { return type == kind::error; }
  bool is_array() const noexcept { return type == kind::array; }
  // The text of a string or status reply; nullopt for other kinds.
  std::optional<std::string_view> as_string() const noexcept;
  // An integer reply, or a string reply holding a decimal integer.
  std::optional<long long> as_integer() const noexcept;

  static value make_string(std::string s) { return value{kind::string, std::move(s), 0, {}}; }
  static value make_integer(long long i) { return value{kind::integer, {}, i, {}}; }
};

enum class errc {
  not_connected = 1,  // Redis is unreachable right now; the client keeps reconnecting
  connection_lost,    // the connection dropped after the command was written
  timeout,            // no reply within command_timeout
  protocol_error,     // the reply stream could not be parsed
  overloaded,         // too many commands queued
  shut_down,          // the client was stopped
  bad_url,            // parse_url rejected the URL
  reply_error,        // used by helpers that expect a non-error reply (carries no text)
  handshake_refused,  // AUTH, SELECT or CLIENT SETNAME was refused (wrong password, ACL, no such db)
  loading,            // the server is loading its dataset (AOF/RDB) and answers LOADING; retried
  cross_slot,         // Redis Cluster: a pipeline's keys hash to different slots (refused unsent)
  cluster_down,       // Redis Cluster: no node serves the slot (CLUSTERDOWN, or redirected too often)
  db_on_cluster,      // a database number other than 0 was given for a Redis Cluster
};

const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), category()};
}

}  // namespace parley::redis

template <>
struct boost::system::is_error_code_enum<parley::redis::errc> : std::true_type {};
