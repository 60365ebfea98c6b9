// The operating-system side of the agent: starting a program as its own process group with its
// log files and inherited listening sockets, knowing it again after the agent restarts (pid plus
// start time plus boot id), watching it exit (pidfd, which also works for processes this agent
// did not fork), and signalling its whole group.
//
// Linux only (pidfd_open, /proc). Free functions are thread-safe; ExitWatcher is thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "setpoint/common/status.h"

namespace setpoint::agent {

struct LaunchSpec {
  // argv[0] is looked up in the PATH of `env` (or the agent's own PATH when env has none) unless
  // it contains a '/'.
  std::vector<std::string> argv;
  // The complete environment of the program (nothing is inherited from the agent).
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;  // must exist; empty: "/"
  std::string stdout_path;  // opened O_WRONLY|O_APPEND|O_CREAT 0640; parent dirs must exist
  std::string stderr_path;  // may equal stdout_path
  // Listening sockets passed systemd-style: they become fds 3, 4, ... in the child, which also
  // gets LISTEN_FDS=<n>, LISTEN_PID=<its own pid> and LISTEN_FDNAMES=<names joined by ':'>.
  std::vector<int> pass_fds;
  std::vector<std::string> fd_names;  // empty, or one per pass_fds entry
  // When >= 0, stdout and stderr both go to this fd instead of the paths (the exec probe's
  // output pipe). The caller keeps ownership; it is not passed on as a LISTEN fd.
  int output_fd = -1;
};

// Who a process is, durably: a pid alone is reused, pid + start time (clock ticks since boot,
// /proc/<pid>/stat field 22) within one boot is not.
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;
  std::string boot_id;  // /proc/sys/kernel/random/boot_id
  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

// Starts the program: a new session and process group (setsid), stdin /dev/null, stdout/stderr
// to the log files, signal mask and dispositions reset, every other fd closed. Between fork and
// exec only async-signal-safe calls (the agent is multi-threaded). Exec failures are reported
// here, not as an exit: NotFound ("exec: \"foo\": executable file not found in $PATH"),
// Forbidden (permission denied), Invalid (bad working dir: "chdir /x: no such file or
// directory"), Internal otherwise. The caller must reap the child: watch it with an ExitWatcher
// (or waitpid it by pid). Nothing may call waitpid(-1): it would steal other reapers' exits.
Result<ProcessIdentity> Launch(const LaunchSpec& spec);

// The identity of a live pid, or nullopt when there is no such process (or it is a zombie).
std::optional<ProcessIdentity> IdentityOf(pid_t pid);
// True when `id` still names the same live process: same boot, same pid, same start time.
bool StillRunning(const ProcessIdentity& id);
std::string BootId();

// Sends `sig` to the process group `pgid` (== the pid Launch returned). ESRCH is not an error.
void SignalGroup(pid_t pgid, int sig);
// "SIGTERM", "TERM", "15", "sigint" → the number; nullopt for anything else.
std::optional<int> ParseSignal(std::string_view name);
std::string SignalName(int sig);  // 15 → "SIGTERM"

struct ExitInfo {
  bool known = false;  // false for adopted processes (not our children): no status to collect
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal killed it
};

// Watches processes for exit with pidfds on one epoll thread. For our own children the status is
// reaped (waitid P_PIDFD); adopted processes report known = false. The callback runs on the
// watcher's thread, once per watched process, never after stop() returns.
class ExitWatcher {
 public:
  using Callback = std::function<void(const ProcessIdentity&, ExitInfo)>;
  static Result<std::unique_ptr<ExitWatcher>> Start(Callback on_exit);
  virtual ~ExitWatcher() = default;
  // Starts watching `id`. If it has already exited, the callback still runs (soon, on the thread).
  // NotFound when the identity no longer names a live process at all (and nothing is reported).
  // Watching an identity already watched is a no-op. Unavailable after stop().
  virtual Status watch(const ProcessIdentity& id) = 0;
  // Idempotent; joins the thread, so it must not be called from the callback itself.
  virtual void stop() = 0;
};

// Listening TCP sockets owned by the agent for `passSocket` ports. SO_REUSEADDR and SO_REUSEPORT
// are set, so an agent restarted while a child still holds the old socket can bind the port again.
// port 0 allocates a free one. Errors: AlreadyExists "listen tcp 127.0.0.1:8080: bind: address
// already in use", Invalid for a bad address.
struct ListeningSocket {
  int fd = -1;
  unsigned short port = 0;
};
Result<ListeningSocket> ListenTcp(const std::string& address, unsigned short port);
// A free port on `address`, found by binding port 0 and closing (for programs that bind
// themselves). A fixed port is checked the same way: AlreadyExists when it is taken. It binds
// without SO_REUSEPORT, so a port held by a ListenTcp socket still shows as taken.
Result<unsigned short> ReservePort(const std::string& address, unsigned short port);

}  // namespace setpoint::agent
