// Blocking writes of a whole buffer to a socket, for the few places that speak HTTP over plain
// POSIX sockets (the agent's log endpoint and the API server's proxy to it). Thread-safe.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <string_view>

namespace setpoint {

// Sends all of `data`, retrying short writes and EINTR; never raises SIGPIPE. False when the peer
// is gone or the socket failed.
inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace setpoint
