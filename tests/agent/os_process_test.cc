#include "agent/os_process.h"
#include "testing/eventually.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

namespace setpoint::agent {
namespace {

using namespace std::chrono_literals;

using test::Eventually;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::vector<std::pair<std::string, std::string>> kPath = {{"PATH", "/usr/bin:/bin"}};

class OsProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/setpoint-os-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/0.log";
    auto watcher = ExitWatcher::Start([this](const ProcessIdentity& id, ExitInfo info) {
      std::lock_guard lock(mu_);
      exits_[id.pid] = info;
    });
    ASSERT_TRUE(watcher.has_value()) << watcher.error().message();
    watcher_ = std::move(*watcher);
  }

  void TearDown() override {
    watcher_->stop();
    for (pid_t pid : launched_) {
      SignalGroup(pid, SIGKILL);
      waitpid(pid, nullptr, 0);  // ECHILD when the watcher reaped it already
    }
    std::filesystem::remove_all(dir_);
  }

  LaunchSpec Spec(std::vector<std::string> argv) {
    LaunchSpec spec;
    spec.argv = std::move(argv);
    spec.env = kPath;
    spec.working_dir = dir_;
    spec.stdout_path = log_;
    spec.stderr_path = log_;
    return spec;
  }

  // Launches and watches; fails the test when the launch fails.
  ProcessIdentity Start(const LaunchSpec& spec) {
    auto id = Launch(spec);
    EXPECT_TRUE(id.has_value()) << id.error().message();
    if (!id) return {};
    launched_.push_back(id->pid);
    EXPECT_TRUE(watcher_->watch(*id).ok());
    return *id;
  }

  std::optional<ExitInfo> ExitOf(pid_t pid) {
    std::optional<ExitInfo> info;
    Eventually([&] {
      std::lock_guard lock(mu_);
      auto it = exits_.find(pid);
      if (it != exits_.end()) info = it->second;
      return info.has_value();
    });
    return info;
  }

  std::string dir_;
  std::string log_;
  std::unique_ptr<ExitWatcher> watcher_;
  std::vector<pid_t> launched_;
  std::mutex mu_;
  std::map<pid_t, ExitInfo> exits_;
};

TEST_F(OsProcessTest, WritesLogAndReportsExitCode) {
  auto id = Start(Spec({"sh", "-c", "echo hi; echo err >&2; exit 3"}));
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->known);
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_EQ(ReadFile(log_), "hi\nerr\n");
  EXPECT_FALSE(IdentityOf(id.pid).has_value());  // reaped
}

TEST_F(OsProcessTest, SeparateStdoutAndStderrFiles) {
  auto spec = Spec({"sh", "-c", "echo out; echo err >&2"});
  spec.stderr_path = dir_ + "/err.log";
  auto id = Start(spec);
  ASSERT_TRUE(ExitOf(id.pid).has_value());
  EXPECT_EQ(ReadFile(log_), "out\n");
  EXPECT_EQ(ReadFile(dir_ + "/err.log"), "err\n");
  struct stat st;
  ASSERT_EQ(stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777 & ~0640, 0u);
}

TEST_F(OsProcessTest, ExecErrorsAreReportedByLaunch) {
  auto missing = Launch(Spec({"no-such-program-setpoint"}));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "exec: \"no-such-program-setpoint\": executable file not found in $PATH");

  auto absent = Launch(Spec({dir_ + "/absent"}));
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().code(), StatusCode::kNotFound);

  auto spec = Spec({"true"});
  spec.working_dir = dir_ + "/nope";
  auto bad_dir = Launch(spec);
  ASSERT_FALSE(bad_dir.has_value());
  EXPECT_EQ(bad_dir.error().code(), StatusCode::kInvalid);
  EXPECT_EQ(bad_dir.error().message(), "chdir " + dir_ + "/nope: no such file or directory");

  std::string script = dir_ + "/not-executable";
  std::ofstream(script) << "#!/bin/sh\n";
  chmod(script.c_str(), 0644);
  auto denied = Launch(Spec({script}));
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code(), StatusCode::kForbidden);
  EXPECT_EQ(denied.error().message(), "fork/exec " + script + ": permission denied");

  spec = Spec({"true"});
  spec.stdout_path = dir_ + "/no/such/dir.log";
  auto bad_log = Launch(spec);
  ASSERT_FALSE(bad_log.has_value());
  EXPECT_EQ(bad_log.error().code(), StatusCode::kInvalid);
}

TEST_F(OsProcessTest, EnvironmentIsExactlyTheSpec) {
  auto spec = Spec({"env"});  // no PATH in env: found through the agent's own PATH
  spec.env = {{"A", "1"}, {"B", "two words"}};
  auto id = Start(spec);
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(ReadFile(log_), "A=1\nB=two words\n");
}

TEST_F(OsProcessTest, OwnSessionAndSignalExit) {
  auto id = Start(Spec({"sleep", "30"}));
  EXPECT_EQ(getpgid(id.pid), id.pid);
  EXPECT_EQ(getsid(id.pid), id.pid);
  EXPECT_TRUE(StillRunning(id));
  SignalGroup(id.pid, SIGKILL);
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->known);
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_FALSE(StillRunning(id));
  EXPECT_FALSE(IdentityOf(id.pid).has_value());
}

TEST_F(OsProcessTest, SignalMaskAndDispositionsAreReset) {
  // Blocked and ignored in the agent; the child must still die of SIGTERM.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &term, &old);
  auto previous = signal(SIGINT, SIG_IGN);
  auto id = Start(Spec({"sleep", "30"}));
  signal(SIGINT, previous);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  SignalGroup(id.pid, SIGINT);
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->signal, SIGINT);
}

TEST_F(OsProcessTest, SignalGroupReachesGrandchildren) {
  // The shell reaps its child itself on TERM, so no orphan is left for init; if the grandchild
  // had not been signalled too, that `wait` would block and the test time out.
  auto id = Start(Spec({"sh", "-c", "trap 'wait; exit 7' TERM; sleep 100 & echo $! > child.pid; wait"}));
  std::string pid_text;
  ASSERT_TRUE(Eventually([&] { return (pid_text = ReadFile(dir_ + "/child.pid")).find('\n') != std::string::npos; }));
  pid_t grandchild = std::stoi(pid_text);
  // Until the fork has exec'd sleep it still runs the shell's TERM trap, which would swallow it.
  const std::string comm = "/proc/" + std::to_string(grandchild) + "/comm";
  ASSERT_TRUE(Eventually([&] { return ReadFile(comm) == "sleep\n"; }));
  SignalGroup(id.pid, SIGTERM);
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 7);
  EXPECT_FALSE(IdentityOf(grandchild).has_value());
}

std::string LinkOf(const std::string& path) {
  char buf[256];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

TEST_F(OsProcessTest, PassesListeningSocketsSystemdStyle) {
  auto a = ListenTcp("127.0.0.1", 0);
  auto b = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(a.has_value() && b.has_value());
  // fd 3 is passed as the second fd while the first one goes to fd 3: a naive dup2 sequence
  // would overwrite it before passing it on.
  if (fcntl(3, F_GETFD) < 0) {
    ASSERT_EQ(dup2(a->fd, 3), 3);
  }
  const std::string third = LinkOf("/proc/self/fd/3");
  auto spec = Spec({"sh", "-c",
                    "[ \"$LISTEN_FDS\" = 3 ] && [ \"$LISTEN_PID\" = $$ ] && "
                    "[ \"$LISTEN_FDNAMES\" = web:other:admin ] && [ -S /proc/self/fd/3 ] && "
                    "readlink /proc/$$/fd/3 /proc/$$/fd/4 /proc/$$/fd/5 && ls /proc/$$/fd"});
  spec.env.push_back({"LISTEN_PID", "1"});  // replaced, not duplicated
  spec.pass_fds = {b->fd, 3, a->fd};
  spec.fd_names = {"web", "other", "admin"};
  auto id = Start(spec);
  auto exit = ExitOf(id.pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0) << ReadFile(log_);
  EXPECT_EQ(ReadFile(log_), LinkOf("/proc/self/fd/" + std::to_string(b->fd)) + "\n" + third + "\n" +
                                LinkOf("/proc/self/fd/" + std::to_string(a->fd)) + "\n0\n1\n2\n3\n4\n5\n");
  close(a->fd);
  close(b->fd);
}

TEST_F(OsProcessTest, AlreadyExitedChildIsStillReported) {
  auto id = Launch(Spec({"true"}));
  ASSERT_TRUE(id.has_value());
  launched_.push_back(id->pid);
  ASSERT_TRUE(Eventually([&] { return !IdentityOf(id->pid).has_value(); }));  // a zombie now
  ASSERT_TRUE(watcher_->watch(*id).ok());
  auto exit = ExitOf(id->pid);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(exit->known);
  EXPECT_EQ(exit->exit_code, 0);
}

TEST_F(OsProcessTest, AdoptedProcessExitIsUnknown) {
  // The sleep is the shell's child, not ours (the shell reaps it, so no orphan is left behind).
  auto parent = Start(Spec({"sh", "-c", "sleep 30 & echo $! > other.pid; wait"}));
  std::string pid_text;
  ASSERT_TRUE(Eventually([&] { return (pid_text = ReadFile(dir_ + "/other.pid")).find('\n') != std::string::npos; }));
  pid_t other = std::stoi(pid_text);
  auto id = IdentityOf(other);
  ASSERT_TRUE(id.has_value());
  ASSERT_TRUE(watcher_->watch(*id).ok());
  kill(other, SIGKILL);
  auto exit = ExitOf(other);
  ASSERT_TRUE(exit.has_value());
  EXPECT_FALSE(exit->known);
  auto shell = ExitOf(parent.pid);
  ASSERT_TRUE(shell.has_value());
  EXPECT_TRUE(shell->known);
}

TEST_F(OsProcessTest, IdentityGuardsAgainstReuse) {
  auto id = Start(Spec({"sleep", "30"}));
  auto now = IdentityOf(id.pid);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(*now, id);
  EXPECT_EQ(id.boot_id, BootId());
  EXPECT_EQ(id.boot_id.size(), 36u);

  ProcessIdentity other_start = id;
  other_start.start_time += 1;
  EXPECT_FALSE(StillRunning(other_start));
  EXPECT_EQ(watcher_->watch(other_start).code(), StatusCode::kNotFound);
  ProcessIdentity other_boot = id;
  other_boot.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(StillRunning(other_boot));
  EXPECT_EQ(watcher_->watch(other_boot).code(), StatusCode::kNotFound);
  EXPECT_TRUE(watcher_->watch(id).ok());  // a second watch of the same identity is a no-op

  SignalGroup(id.pid, SIGKILL);
  ASSERT_TRUE(ExitOf(id.pid).has_value());
  EXPECT_EQ(watcher_->watch(id).code(), StatusCode::kNotFound);  // reaped: gone
}

TEST_F(OsProcessTest, NoCallbackAfterStop) {
  auto id = Start(Spec({"sleep", "30"}));
  watcher_->stop();
  EXPECT_EQ(watcher_->watch(id).code(), StatusCode::kUnavailable);
  SignalGroup(id.pid, SIGKILL);
  ASSERT_EQ(waitpid(id.pid, nullptr, 0), id.pid);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(exits_.empty());
}

TEST(SignalsTest, ParseAndName) {
  EXPECT_EQ(ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("TERM"), SIGTERM);
  EXPECT_EQ(ParseSignal("sigint"), SIGINT);
  EXPECT_EQ(ParseSignal("15"), 15);
  EXPECT_EQ(ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(ParseSignal("usr1"), SIGUSR1);
  EXPECT_EQ(ParseSignal("WINCH"), SIGWINCH);
  EXPECT_FALSE(ParseSignal("SIGFOO").has_value());
  EXPECT_FALSE(ParseSignal("").has_value());
  EXPECT_FALSE(ParseSignal("0").has_value());
  EXPECT_FALSE(ParseSignal("15x").has_value());
  EXPECT_EQ(SignalName(SIGTERM), "SIGTERM");
  EXPECT_EQ(SignalName(SIGHUP), "SIGHUP");
  for (int sig = 1; sig <= 31; ++sig) EXPECT_EQ(ParseSignal(SignalName(sig)), sig) << sig;
}

TEST(ListenTcpTest, ReusePortAndReservation) {
  auto first = ListenTcp("127.0.0.1", 0);
  ASSERT_TRUE(first.has_value()) << first.error().message();
  EXPECT_NE(first->port, 0);
  int flags = fcntl(first->fd, F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC);

  auto second = ListenTcp("127.0.0.1", first->port);  // SO_REUSEPORT on both
  ASSERT_TRUE(second.has_value()) << second.error().message();
  EXPECT_EQ(second->port, first->port);

  auto taken = ReservePort("127.0.0.1", first->port);
  ASSERT_FALSE(taken.has_value());
  EXPECT_EQ(taken.error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.error().message(),
            "listen tcp 127.0.0.1:" + std::to_string(first->port) + ": bind: address already in use");
  close(first->fd);
  close(second->fd);

  auto free_port = ReservePort("127.0.0.1", 0);
  ASSERT_TRUE(free_port.has_value());
  EXPECT_NE(*free_port, 0);
  auto again = ReservePort("127.0.0.1", *free_port);  // nothing listens there now
  EXPECT_TRUE(again.has_value());

  EXPECT_EQ(ListenTcp("not-an-ip", 0).error().code(), StatusCode::kInvalid);
  auto v6 = ListenTcp("::1", 0);
  if (v6) {
    close(v6->fd);
  } else {  // IPv6 may be disabled in the sandbox; only check that the address parses
    EXPECT_NE(v6.error().code(), StatusCode::kInvalid);
  }
}

}  // namespace
}  // namespace setpoint::agent
