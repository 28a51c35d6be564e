#pragma once
// Opening a Redis connection: resolve, connect and the handshake (AUTH, SELECT, CLIENT SETNAME),
// all bounded by config::connect_timeout. Shared by client and subscriber.
#include "resp.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace parley::redis::detail {

// On success the socket is connected and authenticated and `rd` holds no pending bytes.
net::awaitable<boost::system::error_code> open_connection(net::ip::tcp::socket& socket, const config& cfg,
                                                          reader& rd);

}  // namespace parley::redis::detail
