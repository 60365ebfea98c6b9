// Probes over plain POSIX calls: the exec probe runs through Launch (its own session, so a timeout
// kills everything it started) with a pipe for its output; TCP and HTTP use a non-blocking socket
// and poll against one deadline. Failure messages use the kubelet's (Go's) wording.
#include "agent/probes.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string_view>

#include "agent/os_process.h"

namespace setpoint::agent {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxOutput = 1024;

std::string ErrnoText(int err) {
  char buf[128];
  std::string s = strerror_r(err, buf, sizeof buf);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, INT_MAX));
}

ProbeResult Fail(std::string message) { return {false, std::move(message)}; }

std::string HostPort(const std::string& host, unsigned short port) {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Reads what is available from the non-blocking `fd`, keeping the first kMaxOutput bytes of all
// output and discarding the rest (the child must never block on a full pipe). False at EOF.
bool Drain(int fd, std::string& output) {
  char buf[4096];
  for (int rounds = 0; rounds < 256; ++rounds) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN;
    output.append(buf, std::min(static_cast<size_t>(n), kMaxOutput - std::min(kMaxOutput, output.size())));
  }
  return true;
}

ProbeResult ExecProbe(const ProbeSpec& spec, Clock::time_point deadline) {
  if (spec.command.empty()) return Fail("exec probe: empty command");
  int out[2];
  if (pipe2(out, O_CLOEXEC | O_NONBLOCK) < 0) return Fail("pipe: " + ErrnoText(errno));
  LaunchSpec launch;
  launch.argv = spec.command;
  launch.env = spec.env;
  launch.working_dir = spec.working_dir;
  launch.output_fd = out[1];
  auto id = Launch(launch);
  close(out[1]);
  if (!id) {
    close(out[0]);
    return Fail(id.error().message());
  }
  // Its exit, not the pipe's EOF, ends the wait: a background grandchild may hold the pipe open.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, id->pid, 0));
  int pidfd_errno = errno;
  std::string output;
  bool open = true;
  bool exited = false;
  while (!exited && pidfd >= 0) {
    int wait_ms = RemainingMs(deadline);
    if (wait_ms == 0) break;
    pollfd fds[2] = {{pidfd, POLLIN, 0}, {open ? out[0] : -1, POLLIN, 0}};
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) break;
    if (n <= 0) continue;
    if (fds[1].revents != 0) open = Drain(out[0], output);
    if (fds[0].revents != 0) exited = true;
  }
  // On timeout this kills the probe; after its exit, whatever it left behind in its session. The
  // leader is not reaped yet, so the group id cannot have been reused.
  SignalGroup(id->pid, SIGKILL);
  int status = 0;
  while (waitpid(id->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (exited && open) Drain(out[0], output);
  close(out[0]);
  if (pidfd < 0) return Fail("exec probe: pidfd_open: " + ErrnoText(pidfd_errno));
  close(pidfd);
  if (!exited) return Fail("command timed out");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, ""};
  std::string message = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                          : "signal: " + SignalName(WTERMSIG(status));
  while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) output.pop_back();
  if (!output.empty()) message += ": " + output;
  return Fail(message);
}

// Waits for `fd` to be ready for `events`; false at the deadline.
bool WaitFd(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int n;
  while ((n = poll(&p, 1, RemainingMs(deadline))) < 0 && errno == EINTR) {
  }
  return n > 0;
}

// A connected non-blocking socket, or the reason there is none ("dial tcp ...").
struct Dialed {
  int fd = -1;
  std::string error;
};

Dialed Dial(const std::string& host, unsigned short port, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* addrs = nullptr;
  int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &addrs);
  if (rc != 0) return {-1, "dial tcp: lookup " + host + ": " + gai_strerror(rc)};
  Dialed result{-1, "dial tcp " + HostPort(host, port) + ": no address"};
  for (addrinfo* a = addrs; a != nullptr && result.fd < 0; a = a->ai_next) {
    char numeric[NI_MAXHOST] = "";
    getnameinfo(a->ai_addr, a->ai_addrlen, numeric, sizeof numeric, nullptr, 0, NI_NUMERICHOST);
    std::string what = "dial tcp " + HostPort(numeric, port) + ": ";
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      result.error = what + "socket: " + ErrnoText(errno);
      continue;
    }
    int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      if (!WaitFd(fd, POLLOUT, deadline)) {
        result.error = what + "i/o timeout";
        close(fd);
        break;
      }
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    }
    if (err == 0) {
      result = {fd, ""};
    } else {
      result.error = what + "connect: " + ErrnoText(err);
      close(fd);
    }
  }
  freeaddrinfo(addrs);
  return result;
}

ProbeResult TcpProbe(const ProbeSpec& spec, Clock::time_point deadline) {
  Dialed d = Dial(spec.host, spec.port, deadline);
  if (d.fd < 0) return Fail(d.error);
  close(d.fd);
  return {true, ""};
}

bool HasHeader(const ProbeSpec& spec, std::string_view name) {
  return std::any_of(spec.http_headers.begin(), spec.http_headers.end(), [&](const auto& h) {
    return h.first.size() == name.size() && strncasecmp(h.first.c_str(), name.data(), name.size()) == 0;
  });
}

ProbeResult HttpProbe(const ProbeSpec& spec, Clock::time_point deadline) {
  std::string path = spec.path.empty() || spec.path[0] != '/' ? "/" + spec.path : spec.path;
  std::string url = "Get \"http://" + HostPort(spec.host, spec.port) + path + "\": ";
  Dialed d = Dial(spec.host, spec.port, deadline);
  if (d.fd < 0) return Fail(url + d.error);
  std::string request = "GET " + path + " HTTP/1.1\r\n";
  if (!HasHeader(spec, "Host")) request += "Host: " + HostPort(spec.host, spec.port) + "\r\n";
  if (!HasHeader(spec, "User-Agent")) request += "User-Agent: setpoint-probe/1.0\r\n";
  if (!HasHeader(spec, "Accept")) request += "Accept: */*\r\n";
  request += "Connection: close\r\n";
  for (const auto& [name, value] : spec.http_headers) request += name + ": " + value + "\r\n";
  request += "\r\n";

  const std::string timeout = url + "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
  ProbeResult result;
  size_t sent = 0;
  while (sent < request.size() && result.message.empty()) {
    ssize_t n = send(d.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<size_t>(n);
    } else if (errno != EAGAIN && errno != EINTR) {
      result.message = url + "write: " + ErrnoText(errno);
    } else if (errno == EAGAIN && !WaitFd(d.fd, POLLOUT, deadline)) {
      result.message = timeout;
    }
  }
  std::string response;
  while (result.message.empty() && response.find("\r\n") == std::string::npos) {
    char buf[1024];
    ssize_t n = recv(d.fd, buf, sizeof buf, 0);
    if (n > 0) {
      response.append(buf, static_cast<size_t>(n));
      if (response.size() > 8192) break;
    } else if (n == 0) {
      break;
    } else if (errno != EAGAIN && errno != EINTR) {
      result.message = url + "read: " + ErrnoText(errno);
    } else if (errno == EAGAIN && !WaitFd(d.fd, POLLIN, deadline)) {
      result.message = timeout;
    }
  }
  close(d.fd);
  if (!result.message.empty()) return result;
  // "HTTP/1.1 503 Service Unavailable"
  int code = 0;
  std::string_view line(response);
  line = line.substr(0, line.find("\r\n"));
  size_t space = line.find(' ');
  if (line.substr(0, 5) != "HTTP/" || space == std::string_view::npos || line.size() < space + 4 ||
      std::sscanf(std::string(line.substr(space + 1, 3)).c_str(), "%3d", &code) != 1) {
    return Fail(url + "malformed HTTP response");
  }
  if (code >= 200 && code < 400) return {true, ""};
  return Fail("HTTP probe failed with statuscode: " + std::to_string(code));
}

}  // namespace

ProbeResult RunProbe(const ProbeSpec& spec) {
  auto timeout = spec.timeout.count() > 0 ? spec.timeout : std::chrono::milliseconds(1000);
  auto deadline = Clock::now() + timeout;
  switch (spec.kind) {
    case ProbeSpec::Kind::kExec:
      return ExecProbe(spec, deadline);
    case ProbeSpec::Kind::kTcp:
      return TcpProbe(spec, deadline);
    case ProbeSpec::Kind::kHttpGet:
      return HttpProbe(spec, deadline);
  }
  return Fail("unknown probe kind");
}

}  // namespace setpoint::agent
