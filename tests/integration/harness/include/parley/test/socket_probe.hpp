#pragma once
// Looks at another process's end of a TCP connection: the test duplicates the descriptor with
// pidfd_getfd (Linux 5.6+; the process must be the test's child or the test must be root) and
// reads its socket options. For checks a client cannot make from its own side, like whether
// the server set TCP_NODELAY.
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace parley::test {

// TCP_NODELAY on the socket of process `pid` whose peer is 127.0.0.1:`peer_port` (the local
// port of the test's own end); nullopt when no such socket is found or it cannot be read.
std::optional<bool> peer_socket_nodelay(pid_t pid, std::uint16_t peer_port);

// The local port of a connected socket descriptor of this process.
std::uint16_t local_port_of(int fd);

}  // namespace parley::test
