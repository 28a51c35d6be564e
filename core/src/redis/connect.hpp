#pragma once
// Opening a Redis connection: resolve, connect and the handshake (AUTH, INFO cluster, SELECT,
// CLIENT SETNAME),
// all bounded by config::connect_timeout. Shared by client and subscriber.
#include "resp.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace parley::redis::detail {

struct open_result {
  boost::system::error_code ec;
  // The server's own words when it refused the handshake (errc::handshake_refused), e.g.
  // "WRONGPASS invalid username-password pair or user is disabled.", or was loading.
  std::string server_message;
  // The server is a Redis Cluster node (INFO cluster says cluster_enabled:1).
  bool cluster_enabled = false;
};

// On success the socket is connected and authenticated, the server has its dataset loaded (a
// PING answered; LOADING is errc::loading, for the caller to retry), and `rd` holds no pending
// bytes. A database number other than 0 on a cluster node is errc::db_on_cluster.
net::awaitable<open_result> open_connection(net::ip::tcp::socket& socket, const config& cfg, reader& rd);

}  // namespace parley::redis::detail
