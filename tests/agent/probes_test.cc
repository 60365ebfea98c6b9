#include "agent/probes.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "agent/os_process.h"

namespace setpoint::agent {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Accepts one connection on `fd`, reads the request head, answers `response`, closes.
class OneShotHttpServer {
 public:
  OneShotHttpServer(int fd, std::string response)
      : thread_([this, fd, response = std::move(response)] {
          int conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
          if (conn < 0) return;
          char buf[4096];
          while (request_.find("\r\n\r\n") == std::string::npos) {
            ssize_t n = read(conn, buf, sizeof buf);
            if (n <= 0) break;
            request_.append(buf, static_cast<size_t>(n));
          }
          ssize_t ignored = write(conn, response.data(), response.size());
          (void)ignored;
          close(conn);
        }) {}
  // The request as received; valid once the probe returned.
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  std::string request_;
  std::thread thread_;
};

class ProbesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = ListenTcp("127.0.0.1", 0);
    ASSERT_TRUE(s.has_value()) << s.error().message();
    listener_ = *s;
    char tmpl[] = "/tmp/setpoint-probe-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    close(listener_.fd);
    std::filesystem::remove_all(dir_);
  }

  ProbeSpec Http(std::string path) {
    ProbeSpec spec;
    spec.kind = ProbeSpec::Kind::kHttpGet;
    spec.port = listener_.port;
    spec.path = std::move(path);
    return spec;
  }

  ProbeSpec Exec(std::vector<std::string> command) {
    ProbeSpec spec;
    spec.kind = ProbeSpec::Kind::kExec;
    spec.command = std::move(command);
    spec.env = {{"PATH", "/usr/bin:/bin"}};
    spec.working_dir = dir_;
    return spec;
  }

  ListeningSocket listener_;
  std::string dir_;
};

TEST_F(ProbesTest, TcpConnects) {
  ProbeSpec spec;
  spec.kind = ProbeSpec::Kind::kTcp;
  spec.port = listener_.port;
  auto r = RunProbe(spec);
  EXPECT_TRUE(r.success) << r.message;
}

TEST_F(ProbesTest, TcpRefused) {
  auto port = ReservePort("127.0.0.1", 0);  // free, and nothing listens on it
  ASSERT_TRUE(port.has_value());
  ProbeSpec spec;
  spec.kind = ProbeSpec::Kind::kTcp;
  spec.port = *port;
  auto r = RunProbe(spec);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "dial tcp 127.0.0.1:" + std::to_string(*port) + ": connect: connection refused");
}

TEST_F(ProbesTest, HttpFailureStatus) {
  OneShotHttpServer server(listener_.fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n");
  auto r = RunProbe(Http("/healthz"));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "HTTP probe failed with statuscode: 503");
  EXPECT_EQ(server.request().substr(0, 25), "GET /healthz HTTP/1.1\r\nHo");
}

TEST_F(ProbesTest, HttpSuccessSendsHeaders) {
  OneShotHttpServer server(listener_.fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  auto spec = Http("/ready?full=1");
  spec.http_headers = {{"X-Probe", "yes"}};
  auto r = RunProbe(spec);
  EXPECT_TRUE(r.success) << r.message;
  const std::string& req = server.request();
  EXPECT_EQ(req.find("GET /ready?full=1 HTTP/1.1\r\n"), 0u);
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(listener_.port) + "\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nUser-Agent: setpoint-probe/1.0\r\n"), std::string::npos);
  EXPECT_NE(req.find("\r\nX-Probe: yes\r\n"), std::string::npos);
}

TEST_F(ProbesTest, HttpRedirectCountsAsSuccess) {
  OneShotHttpServer server(listener_.fd, "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n");
  EXPECT_TRUE(RunProbe(Http("/")).success);
  server.request();
}

TEST_F(ProbesTest, HttpTimesOutWhenNobodyAnswers) {
  // The kernel completes the handshake from the backlog; nothing ever replies.
  auto spec = Http("/");
  spec.timeout = 200ms;
  auto start = Clock::now();
  auto r = RunProbe(spec);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(r.success);
  EXPECT_NE(r.message.find("context deadline exceeded"), std::string::npos) << r.message;
}

TEST_F(ProbesTest, ExecSuccessAndFailure) {
  auto ok = RunProbe(Exec({"true"}));
  EXPECT_TRUE(ok.success) << ok.message;

  auto failed = RunProbe(Exec({"sh", "-c", "echo not ready; echo really >&2; exit 2"}));
  EXPECT_FALSE(failed.success);
  EXPECT_EQ(failed.message, "exit status 2: not ready\nreally");

  auto missing = RunProbe(Exec({"no-such-probe-command"}));
  EXPECT_FALSE(missing.success);
  EXPECT_EQ(missing.message, "exec: \"no-such-probe-command\": executable file not found in $PATH");
}

TEST_F(ProbesTest, ExecOutputIsCappedAndNeverBlocksTheCommand) {
  auto r = RunProbe(Exec({"sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; exit 1"}));
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "exit status 1: " + std::string(1024, 'a'));
}

TEST_F(ProbesTest, ExecTimeoutKillsTheCommand) {
  auto spec = Exec({"sh", "-c", "echo $$ > probe.pid; exec sleep 5"});
  spec.timeout = 200ms;
  auto start = Clock::now();
  auto r = RunProbe(spec);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.message, "command timed out");
  std::ifstream in(dir_ + "/probe.pid");
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(IdentityOf(pid).has_value());  // killed and reaped
}

TEST_F(ProbesTest, ExecDoesNotWaitForBackgroundChildren) {
  // The background sleep keeps the output pipe open; the probe ends with the command and kills
  // what it left behind. As subreaper this test collects that orphan itself instead of leaving a
  // zombie to an init that may not reap.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  struct ResetSubreaper {
    ~ResetSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0); }
  } reset;
  auto spec = Exec({"sh", "-c", "sleep 5 & echo $! > bg.pid; exit 0"});
  spec.timeout = 3s;
  auto start = Clock::now();
  auto r = RunProbe(spec);
  EXPECT_TRUE(r.success) << r.message;
  EXPECT_LT(Clock::now() - start, 2500ms);
  std::ifstream in(dir_ + "/bg.pid");
  pid_t bg = 0;
  in >> bg;
  ASSERT_GT(bg, 0);
  int status = 0;
  EXPECT_EQ(waitpid(bg, &status, 0), bg);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

}  // namespace
}  // namespace setpoint::agent
