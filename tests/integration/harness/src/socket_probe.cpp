#include <parley/test/socket_probe.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace parley::test {

namespace {

// Closes a descriptor at scope exit.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::uint16_t local_port_of(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

std::optional<bool> peer_socket_nodelay(pid_t pid, std::uint16_t peer_port) {
  fd_guard pidfd{static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))};
  if (pidfd.fd < 0) return std::nullopt;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    const auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (ec || !target.string().starts_with("socket:")) continue;
    int remote_fd = 0;
    try {
      remote_fd = std::stoi(entry.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    fd_guard dup{static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.fd, remote_fd, 0))};
    if (dup.fd < 0) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (::getpeername(dup.fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 || peer.sin_family != AF_INET) continue;
    if (ntohs(peer.sin_port) != peer_port) continue;
    int on = 0;
    socklen_t optlen = sizeof on;
    if (::getsockopt(dup.fd, IPPROTO_TCP, TCP_NODELAY, &on, &optlen) != 0) return std::nullopt;
    return on != 0;
  }
  return std::nullopt;
}

}  // namespace parley::test
