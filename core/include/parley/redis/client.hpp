#pragma once
// A Redis client over Asio sockets that uses hiredis only as the RESP codec
// (redisFormatCommandArgv to encode, redisReader to decode).
//
// One `client` owns one TCP connection and pipelines: commands issued concurrently are written
// back to back and matched to replies in order. On Redis Cluster (several hosts in the URL, or a
// server that says cluster_enabled:1) it holds one such connection per node and routes each
// pipeline by its keys, which must all hash to one slot (else errc::cross_slot, nothing sent);
// redirects are followed, a slot nobody serves is errc::cluster_down. Standalone servers take
// the same path as before clusters existed, plus one relaxed atomic load per call. It reconnects by itself with exponential
// backoff; while Redis is unreachable every command completes at once with
// `errc::not_connected`, so callers can answer clients with a clear error instead of waiting.
//
// Thread-safety: every member function may be called from any thread; the connection state is
// confined to the client's strand and each completion is delivered on the caller's executor.
// Blocking commands (XREADGROUP BLOCK, BLPOP) stall the whole pipeline: give them a client of
// their own.
#include <parley/redis/value.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::redis {

namespace net = boost::asio;

struct endpoint {
  std::string host;
  std::uint16_t port = 6379;
};

struct config {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  // Redis Cluster seed nodes besides host:port (redis://h1:p1,h2:p2,...). A URL that names
  // several hosts names a cluster; one host is a cluster too when the server says
  // cluster_enabled:1, which the client asks on its first connection.
  std::vector<endpoint> more_seeds;
  // How often the cluster slot map is read again besides MOVED and lost connections.
  std::chrono::milliseconds cluster_refresh{10000};
  std::string username;  // ACL user; empty means "default"
  std::string password;  // AUTH is sent after connect when non-empty
  int db = 0;
  std::string client_name;  // CLIENT SETNAME, shows up in CLIENT LIST
  std::chrono::milliseconds connect_timeout{2000};
  // A command whose reply has not arrived by then fails with errc::timeout and the connection is
  // recycled (its pipeline position can no longer be trusted).
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{2000};
  // Commands queued while connected but not yet written; beyond it exec fails with errc::overloaded.
  std::size_t max_queued = 65536;
};

// Parses redis://[user[:password]@]host[:port][,host[:port]...][/db]. Unknown schemes and bad
// ports are errors, and so is a database number with several hosts (a cluster has only db 0:
// errc::db_on_cluster).
boost::system::result<config> parse_url(std::string_view url);

using command = std::vector<std::string>;

class client_impl;
namespace detail {
class cluster_router;
}

class client {
 public:
  client(net::any_io_executor ex, config cfg);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Starts connecting (and reconnecting). Idempotent.
  void start();
  // Closes the connection; pending and later commands fail with errc::shut_down.
  void stop();

  // Runs one command. A Redis error reply (e.g. WRONGTYPE) is a successful result whose value
  // has kind::error; the error code is for transport failures only.
  net::awaitable<boost::system::result<value>> exec(command cmd);
  // exec("SET", key, value): builds the command outside the coroutine frame. g++ 12 miscompiles
  // braced lists inside co_await expressions ("array used as initializer"), so prefer this form
  // to exec({...}) in coroutines.
  template <class... Args>
  net::awaitable<boost::system::result<value>> exec(std::string_view verb, const Args&... args) {
    return exec(command{std::string(verb), std::string(args)...});
  }
  // Runs several commands in one write; replies come back in the same order.
  net::awaitable<boost::system::result<std::vector<value>>> exec_pipeline(std::vector<command> cmds);

  bool connected() const noexcept;
  // The server that serves `key` now: host:port when standalone, the slot's master on a cluster;
  // nullopt while that is not known (before the first connection, or a slot nobody serves).
  std::optional<endpoint> node_for(std::string_view key) const;
  // Cluster: read the slot map again soon (a subscriber saw a channel move). No-op standalone.
  void refresh_map();
  // Called (on the client's strand) after every successful (re)connect, e.g. to reload scripts
  // or resynchronise state. Set before start().
  void on_connect(std::function<void()> fn);
  // Called (on the client's strand) when a server shows that the configuration cannot work and
  // retrying is pointless: errc::db_on_cluster (a database number in the URL of a cluster node).
  // The binaries exit with status 2. Set before start().
  void on_config_error(std::function<void(boost::system::error_code)> fn);

 private:
  std::shared_ptr<client_impl> impl_;  // standalone: the connection; cluster: the first seed's
  std::shared_ptr<detail::cluster_router> cluster_;
};

// A Lua script run with EVALSHA, falling back to EVAL when the server does not know the hash
// (after a restart or SCRIPT FLUSH), so callers never see NOSCRIPT.
class script {
 public:
  explicit script(std::string source);
  const std::string& source() const noexcept { return source_; }
  const std::string& sha1() const noexcept { return sha1_; }

  net::awaitable<boost::system::result<value>> run(client& c, const std::vector<std::string>& keys,
                                                   const std::vector<std::string>& args) const;
  // EVALSHA command for use inside exec_pipeline; the pipeline caller must handle NOSCRIPT by
  // calling run() once (which loads the script through EVAL).
  command evalsha(const std::vector<std::string>& keys, const std::vector<std::string>& args) const;

 private:
  std::string source_;
  std::string sha1_;
};

}  // namespace parley::redis
