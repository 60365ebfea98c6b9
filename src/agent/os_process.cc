// Linux implementation of the agent's process layer. Everything the child needs is prepared in
// the parent before fork, because the agent is multi-threaded and the child may only make
// async-signal-safe calls until execve.
#include "agent/os_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace setpoint::agent {
namespace {

// "No such file or directory" → "no such file or directory", the way Go words it.
std::string ErrnoText(int err) {
  char buf[128];
  std::string s = strerror_r(err, buf, sizeof buf);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

struct StatFields {
  char state = 0;
  std::uint64_t start_time = 0;
};

// Fields 3 (state) and 22 (starttime) of /proc/<pid>/stat. Field 2 is "(comm)" and comm may hold
// spaces and parentheses, so the fields are counted from the last ')'.
std::optional<StatFields> ReadStat(pid_t pid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[2048];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return std::nullopt;
  std::string_view s(buf, static_cast<size_t>(n));
  size_t paren = s.rfind(')');
  if (paren == std::string_view::npos) return std::nullopt;
  s.remove_prefix(paren + 1);
  StatFields f;
  int field = 2;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\n') ++j;
    if (j == i) break;
    ++field;
    if (field == 3) f.state = s[i];
    if (field == 22) {
      if (std::from_chars(s.data() + i, s.data() + j, f.start_time).ec != std::errc()) break;
      return f;
    }
    i = j;
  }
  return std::nullopt;
}

// Finds `file` in the ':'-separated `path_list`. Relative entries are skipped: the child changes
// directory before exec, and running programs from a working dir is a trap anyway.
Result<std::string> LookPath(const std::string& file, std::string_view path_list) {
  if (file.find('/') != std::string::npos) return file;
  while (!file.empty()) {
    size_t colon = path_list.find(':');
    std::string_view dir = path_list.substr(0, colon);
    if (!dir.empty() && dir[0] == '/') {
      std::string candidate = std::string(dir) + "/" + file;
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    if (colon == std::string_view::npos) break;
    path_list.remove_prefix(colon + 1);
  }
  return Err(Status::NotFound("exec: \"" + file + "\": executable file not found in $PATH"));
}

enum Stage : int { kStageSetup = 1, kStageStdin, kStageStdout, kStageStderr, kStageChdir, kStageExec };

// What the child does, all of it decided and allocated before fork.
struct ChildPlan {
  const char* exec_path;
  char* const* argv;
  char* const* envp;
  const char* dir;
  const char* out_path;  // unused when output_fd >= 0
  const char* err_path;  // nullptr: same file as stdout
  int output_fd;         // already moved above every target fd
  const int* moved_fds;  // pass_fds, already moved above every target fd
  int n_pass;
  char* listen_pid_digits;  // inside the LISTEN_PID= env entry, room for 20 digits; or nullptr
  int report_fd;            // CLOEXEC write end of the error pipe, above every target fd
  long max_fd;              // for the close loop when close_range is missing
};

[[noreturn]] void ChildFail(int report_fd, int stage) {
  int msg[2] = {stage, errno};
  ssize_t ignored = write(report_fd, msg, sizeof msg);
  (void)ignored;
  _exit(127);
}

// Puts `fd` at `target` without CLOEXEC, closing the original unless it is kept (`keep`).
bool PlaceFd(int fd, int target, bool keep) {
  if (fd == target) return fcntl(target, F_SETFD, 0) == 0;
  if (dup2(fd, target) < 0) return false;
  if (!keep) close(fd);
  return true;
}

[[noreturn]] void RunChild(const ChildPlan& p) {
  if (setsid() < 0) ChildFail(p.report_fd, kStageSetup);
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);  // glibc-internal: EINVAL
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0 || !PlaceFd(in, 0, false)) ChildFail(p.report_fd, kStageStdin);
  int out = p.output_fd >= 0 ? p.output_fd : open(p.out_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (out < 0 || !PlaceFd(out, 1, p.output_fd >= 0)) ChildFail(p.report_fd, kStageStdout);
  if (p.err_path == nullptr) {
    if (dup2(1, 2) < 0) ChildFail(p.report_fd, kStageStderr);
  } else {
    int err = open(p.err_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (err < 0 || !PlaceFd(err, 2, false)) ChildFail(p.report_fd, kStageStderr);
  }
  for (int i = 0; i < p.n_pass; ++i) {
    if (dup2(p.moved_fds[i], 3 + i) < 0) ChildFail(p.report_fd, kStageSetup);
  }
  if (p.listen_pid_digits != nullptr) {
    char rev[24];
    int n = 0;
    for (unsigned long v = static_cast<unsigned long>(getpid()); n == 0 || v != 0; v /= 10) {
      rev[n++] = static_cast<char>('0' + v % 10);
    }
    for (int i = 0; i < n; ++i) p.listen_pid_digits[i] = rev[n - 1 - i];
    p.listen_pid_digits[n] = '\0';
  }
  // Everything from 3+n on closes at exec; the error pipe must stay usable until then.
  if (syscall(SYS_close_range, 3 + p.n_pass, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (long fd = 3 + p.n_pass; fd < p.max_fd; ++fd) {
      if (fd != p.report_fd) close(static_cast<int>(fd));
    }
  }
  if (chdir(p.dir) < 0) ChildFail(p.report_fd, kStageChdir);
  execve(p.exec_path, p.argv, p.envp);
  ChildFail(p.report_fd, kStageExec);
}

Status ChildError(int stage, int err, const LaunchSpec& spec, const ChildPlan& plan) {
  std::string text = ErrnoText(err);
  std::string msg;
  switch (stage) {
    case kStageChdir:
      msg = "chdir " + std::string(plan.dir) + ": " + text;
      return err == EACCES ? Status::Forbidden(msg) : Status::Invalid(msg);
    case kStageStdout:
    case kStageStderr:
      msg = "open " + std::string(stage == kStageStdout ? plan.out_path : plan.err_path) + ": " + text;
      if (err == EACCES || err == EPERM) return Status::Forbidden(msg);
      if (err == ENOENT || err == ENOTDIR || err == EISDIR) return Status::Invalid(msg);
      return Status::Internal(msg);
    case kStageExec:
      msg = "fork/exec " + std::string(plan.exec_path) + ": " + text;
      if (err == ENOENT) return Status::NotFound(msg);
      if (err == EACCES || err == EPERM) return Status::Forbidden(msg);
      return Status::Internal(msg);
    default:
      return Status::Internal("launch " + spec.argv[0] + ": child setup: " + text);
  }
}

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds)
    if (fd >= 0) close(fd);
}

}  // namespace

Result<ProcessIdentity> Launch(const LaunchSpec& spec) {
  if (spec.argv.empty()) return Err(Status::Invalid("launch: empty argv"));
  const size_t n_pass = spec.pass_fds.size();
  if (!spec.fd_names.empty() && spec.fd_names.size() != n_pass) {
    return Err(Status::Invalid("launch: fd_names must name every passed fd"));
  }
  // The environment, with the LISTEN_* variables ours when sockets are passed.
  std::vector<std::string> env;
  std::optional<std::string> path_list;
  for (const auto& [k, v] : spec.env) {
    if (k == "PATH") path_list = v;
    if (n_pass > 0 && (k == "LISTEN_FDS" || k == "LISTEN_PID" || k == "LISTEN_FDNAMES")) continue;
    env.push_back(k + "=" + v);
  }
  std::string listen_pid = "LISTEN_PID=" + std::string(24, '\0');
  if (n_pass > 0) {
    env.push_back("LISTEN_FDS=" + std::to_string(n_pass));
    if (!spec.fd_names.empty()) {
      std::string names;
      for (const auto& name : spec.fd_names) names += (names.empty() ? "" : ":") + name;
      env.push_back("LISTEN_FDNAMES=" + names);
    }
  }
  if (!path_list) {
    const char* own = std::getenv("PATH");
    path_list = own ? own : "/usr/local/bin:/usr/bin:/bin";
  }
  auto exec_path = LookPath(spec.argv[0], *path_list);
  if (!exec_path) return Err(exec_path.error());

  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  if (n_pass > 0) envp.push_back(listen_pid.data());
  envp.push_back(nullptr);

  // Every fd the child dup2s from is moved above every fd it dup2s onto, so no source is
  // overwritten before it is used.
  int high = static_cast<int>(3 + n_pass + 1);
  for (int fd : spec.pass_fds) high = std::max(high, fd + 1);
  high = std::max(high, spec.output_fd + 1);
  std::vector<int> owned;  // closed by the parent after fork
  std::vector<int> moved;
  for (int fd : spec.pass_fds) {
    int m = fcntl(fd, F_DUPFD_CLOEXEC, high);
    if (m < 0) {
      CloseAll(owned);
      return Err(Status::Invalid("launch: pass fd " + std::to_string(fd) + ": " + ErrnoText(errno)));
    }
    moved.push_back(m);
    owned.push_back(m);
  }
  int output_fd = -1;
  if (spec.output_fd >= 0) {
    output_fd = fcntl(spec.output_fd, F_DUPFD_CLOEXEC, high);
    if (output_fd < 0) {
      CloseAll(owned);
      return Err(Status::Invalid("launch: output fd: " + ErrnoText(errno)));
    }
    owned.push_back(output_fd);
  }
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    CloseAll(owned);
    return Err(Status::Internal("launch: pipe: " + ErrnoText(errno)));
  }
  int report_fd = fcntl(pipefd[1], F_DUPFD_CLOEXEC, high);
  close(pipefd[1]);
  if (report_fd < 0) {
    CloseAll(owned);
    close(pipefd[0]);
    return Err(Status::Internal("launch: pipe: " + ErrnoText(errno)));
  }
  owned.push_back(report_fd);

  ChildPlan plan{};
  plan.exec_path = exec_path->c_str();
  plan.argv = argv.data();
  plan.envp = envp.data();
  plan.dir = spec.working_dir.empty() ? "/" : spec.working_dir.c_str();
  plan.out_path = spec.stdout_path.empty() ? "/dev/null" : spec.stdout_path.c_str();
  plan.err_path =
      (spec.stderr_path.empty() || spec.stderr_path == spec.stdout_path) ? nullptr : spec.stderr_path.c_str();
  plan.output_fd = output_fd;
  plan.moved_fds = moved.data();
  plan.n_pass = static_cast<int>(n_pass);
  plan.listen_pid_digits = n_pass > 0 ? listen_pid.data() + 11 : nullptr;
  plan.report_fd = report_fd;
  plan.max_fd = std::min(sysconf(_SC_OPEN_MAX), 1L << 16);

  // Signals stay blocked across fork so no agent handler runs in the child before its reset.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = fork();
  if (pid == 0) RunChild(plan);
  int fork_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  CloseAll(owned);
  if (pid < 0) {
    close(pipefd[0]);
    return Err(Status::Internal("fork: " + ErrnoText(fork_errno)));
  }
  int msg[2];
  size_t got = 0;
  while (got < sizeof msg) {
    ssize_t n = read(pipefd[0], reinterpret_cast<char*>(msg) + got, sizeof msg - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(pipefd[0]);
  if (got == sizeof msg) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return Err(ChildError(msg[0], msg[1], spec, plan));
  }
  // Our child is not reaped yet, so its stat exists even when it already exited.
  auto stat = ReadStat(pid);
  if (!stat) return Err(Status::Internal("launch: cannot read /proc/" + std::to_string(pid) + "/stat"));
  return ProcessIdentity{pid, stat->start_time, BootId()};
}

std::string BootId() {
  static const std::string id = [] {
    std::string s;
    if (FILE* f = std::fopen("/proc/sys/kernel/random/boot_id", "re")) {
      char buf[64];
      if (std::fgets(buf, sizeof buf, f)) s = buf;
      std::fclose(f);
    }
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }();
  return id;
}

std::optional<ProcessIdentity> IdentityOf(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto stat = ReadStat(pid);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  return ProcessIdentity{pid, stat->start_time, BootId()};
}

bool StillRunning(const ProcessIdentity& id) {
  auto now = IdentityOf(id.pid);
  return now && *now == id;
}

void SignalGroup(pid_t pgid, int sig) {
  if (pgid <= 1) return;  // kill(0) or kill(-1) would hit the agent's group or everything
  if (kill(-pgid, sig) < 0 && errno != ESRCH) {
    spdlog::warn("kill(-{}, {}): {}", pgid, SignalName(sig), ErrnoText(errno));
  }
}

namespace {
constexpr std::array<std::pair<int, const char*>, 31> kSignals{{
    {SIGHUP, "HUP"},       {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},     {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"},   {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"}, {SIGURG, "URG"},     {SIGXCPU, "XCPU"}, {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},     {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
}};
}  // namespace

std::optional<int> ParseSignal(std::string_view name) {
  int num = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), num);
  if (!name.empty() && ec == std::errc() && end == name.data() + name.size()) {
    if (num >= 1 && num < NSIG) return num;
    return std::nullopt;
  }
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view bare = upper;
  if (bare.substr(0, 3) == "SIG") bare.remove_prefix(3);
  for (const auto& [sig, n] : kSignals) {
    if (bare == n) return sig;
  }
  return std::nullopt;
}

std::string SignalName(int sig) {
  for (const auto& [s, n] : kSignals) {
    if (s == sig) return std::string("SIG") + n;
  }
  return std::to_string(sig);
}

// ---- ExitWatcher ----------------------------------------------------------------------------

namespace {

class PidfdExitWatcher final : public ExitWatcher {
 public:
  PidfdExitWatcher(Callback cb, int epfd, int wakefd) : cb_(std::move(cb)), epfd_(epfd), wakefd_(wakefd) {
    thread_ = std::jthread([this](std::stop_token st) { Loop(st); });
  }
  ~PidfdExitWatcher() override { stop(); }

  Status watch(const ProcessIdentity& id) override {
    std::string who = "process " + std::to_string(id.pid);
    if (id.pid <= 0 || id.boot_id != BootId()) return Status::NotFound(who + " not found");
    int pidfd = static_cast<int>(syscall(SYS_pidfd_open, id.pid, 0));
    if (pidfd < 0) {
      if (errno == ESRCH) return Status::NotFound(who + " not found");
      return Status::Internal("pidfd_open " + std::to_string(id.pid) + ": " + ErrnoText(errno));
    }
    // The pid may have been reused before pidfd_open; checked after it, the start time proves
    // the pidfd refers to `id` (a zombie still counts: its exit is what we report).
    auto stat = ReadStat(id.pid);
    if (!stat || stat->start_time != id.start_time) {
      close(pidfd);
      return Status::NotFound(who + " not found (pid reused)");
    }
    std::lock_guard lock(mu_);
    bool duplicate =
        std::any_of(watched_.begin(), watched_.end(), [&](const auto& entry) { return entry.second == id; });
    if (stopped_ || duplicate) {
      close(pidfd);
      return stopped_ ? Status::Unavailable("exit watcher stopped") : Status::Ok();
    }
    watched_[pidfd] = id;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = pidfd;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
      int e = errno;
      watched_.erase(pidfd);
      close(pidfd);
      return Status::Internal("epoll_ctl: " + ErrnoText(e));
    }
    return Status::Ok();
  }

  void stop() override {
    std::lock_guard stop_lock(stop_mu_);
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    thread_.request_stop();
    std::uint64_t one = 1;
    ssize_t ignored = write(wakefd_, &one, sizeof one);
    (void)ignored;
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    for (const auto& entry : watched_) close(entry.first);
    watched_.clear();
    close(epfd_);
    close(wakefd_);
  }

 private:
  void Loop(std::stop_token st) {
    while (!st.stop_requested()) {
      epoll_event evs[16];
      int n = epoll_wait(epfd_, evs, 16, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        spdlog::error("exit watcher: epoll_wait: {}", ErrnoText(errno));
        return;
      }
      for (int i = 0; i < n && !st.stop_requested(); ++i) {
        int fd = evs[i].data.fd;
        if (fd == wakefd_) continue;
        ProcessIdentity id;
        {
          std::lock_guard lock(mu_);
          auto it = watched_.find(fd);
          if (it == watched_.end()) continue;
          id = it->second;
          watched_.erase(it);
          epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
        }
        ExitInfo info = Collect(fd);
        close(fd);
        cb_(id, info);
      }
    }
  }

  // Reaps our own child; a process that is not ours (ECHILD) has no status for us.
  static ExitInfo Collect(int pidfd) {
    siginfo_t si;
    std::memset(&si, 0, sizeof si);
    int rc;
    do {
      rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    ExitInfo info;
    if (rc < 0 || si.si_pid == 0) return info;
    info.known = true;
    if (si.si_code == CLD_EXITED) {
      info.exit_code = si.si_status;
    } else {
      info.signal = si.si_status;
    }
    return info;
  }

  Callback cb_;
  int epfd_;
  int wakefd_;
  std::mutex stop_mu_;
  std::mutex mu_;
  std::map<int, ProcessIdentity> watched_;  // pidfd → identity; GUARDED_BY(mu_)
  bool stopped_ = false;                    // GUARDED_BY(mu_)
  std::jthread thread_;
};

}  // namespace

Result<std::unique_ptr<ExitWatcher>> ExitWatcher::Start(Callback on_exit) {
  int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return Err(Status::Internal("epoll_create1: " + ErrnoText(errno)));
  int wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0) {
    close(epfd);
    return Err(Status::Internal("eventfd: " + ErrnoText(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakefd;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) {
    int e = errno;
    close(epfd);
    close(wakefd);
    return Err(Status::Internal("epoll_ctl: " + ErrnoText(e)));
  }
  return std::make_unique<PidfdExitWatcher>(std::move(on_exit), epfd, wakefd);
}

// ---- Listening sockets ----------------------------------------------------------------------

namespace {

// A bound TCP socket, listening when `backlog` > 0. Errors read like Go's net.Listen.
Result<ListeningSocket> BindTcp(const std::string& address, unsigned short port, bool reuse_port, int backlog) {
  std::string host = address.empty() ? "0.0.0.0" : address == "localhost" ? "127.0.0.1" : address;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
    host = "[" + host + "]";
  } else {
    return Err(Status::Invalid("listen tcp " + address + ": invalid IP address"));
  }
  std::string what = "listen tcp " + host + ":" + std::to_string(port) + ": ";
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Err(Status::Internal(what + "socket: " + ErrnoText(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  std::string step = "bind: ";
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
    step = "listen: ";
    if (backlog == 0 || listen(fd, backlog) == 0) {
      len = sizeof ss;
      getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
      return ListeningSocket{fd, ntohs(ss.ss_family == AF_INET6 ? v6->sin6_port : v4->sin_port)};
    }
  }
  int e = errno;
  close(fd);
  std::string msg = what + step + ErrnoText(e);
  if (e == EADDRINUSE) return Err(Status::AlreadyExists(msg));
  if (e == EACCES) return Err(Status::Forbidden(msg));
  if (e == EADDRNOTAVAIL) return Err(Status::Invalid(msg));
  return Err(Status::Internal(msg));
}

}  // namespace

Result<ListeningSocket> ListenTcp(const std::string& address, unsigned short port) {
  return BindTcp(address, port, /*reuse_port=*/true, /*backlog=*/1024);
}

// No SO_REUSEPORT here: with it, binding beside a listener that also set it would succeed and
// hide that the port is taken.
Result<unsigned short> ReservePort(const std::string& address, unsigned short port) {
  auto s = BindTcp(address, port, /*reuse_port=*/false, /*backlog=*/0);
  if (!s) return Err(s.error());
  close(s->fd);
  return s->port;
}

}  // namespace setpoint::agent
