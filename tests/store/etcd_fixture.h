// EtcdCluster: real etcd members (Debian's /usr/bin/etcd, 3.4) on loopback for tests — one
// member or several forming one cluster — each with its data dir under a test-owned directory.
// Members can be killed and restarted on the same data and ports. Optionally TLS with client
// certificates (a throwaway CA made with the openssl command).
//
// Readiness is waited for, never slept on: a member is up once its log says "serving client
// traffic", which etcd 3.4 prints only after the member has joined a cluster with a leader
// (after its ReadyNotify).
// Every member runs with PR_SET_PDEATHSIG, so a crashed test does not leave etcd behind; so Start
// from the thread that will outlive the cluster (the test's main thread). Header-only.
// Not thread-safe: use from one test thread.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/testing/eventually.h"

namespace setpoint::store::testing {

inline constexpr const char* kEtcdBinary = "/usr/bin/etcd";

struct EtcdClusterOptions {
  int members = 1;
  bool tls = false;                 // https client URLs, client certificates required
  std::string quota_backend_bytes;  // etcd --quota-backend-bytes, empty = etcd's default
  std::chrono::seconds start_deadline{30};
};

// Paths of the PEM files a TLS cluster's clients use.
struct EtcdTlsFiles {
  std::string ca, cert, key;
};

class EtcdCluster {
 public:
  static bool Available() { return ::access(kEtcdBinary, X_OK) == 0; }

  // Starts the members under `dir` and waits until all are ready. Null (and `error` set) if
  // they are not ready by the deadline; the log of each member is <dir>/m<i>.log.
  static std::unique_ptr<EtcdCluster> Start(const std::string& dir, EtcdClusterOptions options = {},
                                            std::string* error = nullptr) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::unique_ptr<EtcdCluster> c(new EtcdCluster(dir, options));
    std::string why;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a port taken meanwhile: new ports
      c->stop_all();
      for (int i = 0; i < options.members; ++i) {
        std::filesystem::remove_all(dir + "/m" + std::to_string(i) + ".etcd", ec);  // a failed attempt's
      }
      c->assign_ports();
      if (options.tls && attempt == 0 && !c->make_certificates(why)) break;
      bool ok = true;
      for (int i = 0; i < options.members && ok; ++i) ok = c->spawn(i, why);
      for (int i = 0; i < options.members && ok; ++i) ok = c->wait_ready(i, why);
      if (ok) return c;
    }
    if (error) *error = why;
    return nullptr;
  }

  ~EtcdCluster() { stop_all(); }
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  std::string endpoint(int i) const { return "127.0.0.1:" + std::to_string(members_[i].client_port); }
  std::vector<std::string> endpoints() const {
    std::vector<std::string> out;
    for (int i = 0; i < size(); ++i) out.push_back(endpoint(i));
    return out;
  }
  // "etcd://a,b,c" (or etcd+https://) for --store.
  std::string url() const {
    std::string u = options_.tls ? "etcd+https://" : "etcd://";
    for (int i = 0; i < size(); ++i) u += (i ? "," : "") + endpoint(i);
    return u;
  }
  const EtcdTlsFiles& tls_files() const { return tls_; }
  bool running(int i) const { return members_[i].pid > 0; }

  // SIGKILL: the member stops at once, as in a crash.
  void kill(int i) {
    Member& m = members_[i];
    if (m.pid <= 0) return;
    ::kill(m.pid, SIGKILL);
    ::waitpid(m.pid, nullptr, 0);
    m.pid = -1;
  }

  // Starts a killed member again on its data dir and ports, and waits until it is ready.
  bool restart(int i, std::string* error = nullptr) {
    std::string why;
    kill(i);
    bool ok = spawn(i, why) && wait_ready(i, why);
    if (!ok && error) *error = why;
    return ok;
  }

 private:
  struct Member {
    int client_port = 0;
    int peer_port = 0;
    pid_t pid = -1;
    std::uintmax_t log_offset = 0;  // where this run's log starts
  };

  EtcdCluster(std::string dir, EtcdClusterOptions options)
      : dir_(std::move(dir)), options_(options), members_(static_cast<std::size_t>(options.members)) {}

  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
    ::close(fd);
    return port;
  }

  void assign_ports() {
    for (Member& m : members_) {
      m.client_port = FreePort();
      m.peer_port = FreePort();
    }
    token_ = "setpoint-test-" + std::to_string(::getpid()) + "-" + std::to_string(members_[0].client_port);
  }

  std::string log_path(int i) const { return dir_ + "/m" + std::to_string(i) + ".log"; }

  bool make_certificates(std::string& why) {
    std::string d = dir_ + "/tls";
    std::filesystem::create_directories(d);
    auto run = [&](const std::string& cmd) {
      return std::system((cmd + " >>" + d + "/openssl.log 2>&1").c_str()) == 0;
    };
    std::ofstream(d + "/san.ext") << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  << "extendedKeyUsage=serverAuth,clientAuth\n";
    bool ok = run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=setpoint-test-ca -keyout " + d +
                  "/ca.key -out " + d + "/ca.crt");
    for (const char* who : {"server", "client"}) {
      std::string p = d + "/" + who;
      ok = ok && run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + std::string(who) + " -keyout " + p +
                     ".key -out " + p + ".csr");
      ok = ok && run("openssl x509 -req -in " + p + ".csr -CA " + d + "/ca.crt -CAkey " + d +
                     "/ca.key -CAcreateserial -days 2 -extfile " + d + "/san.ext -out " + p + ".crt");
    }
    if (!ok) why = "openssl could not make test certificates; see " + d + "/openssl.log";
    tls_ = {d + "/ca.crt", d + "/client.crt", d + "/client.key"};
    return ok;
  }

  bool spawn(int i, std::string& why) {
    Member& m = members_[static_cast<std::size_t>(i)];
    std::string scheme = options_.tls ? "https://" : "http://";
    std::string client = scheme + "127.0.0.1:" + std::to_string(m.client_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
    std::string cluster;
    for (int j = 0; j < size(); ++j)
      cluster += (j ? "," : "") + std::string("m") + std::to_string(j) +
                 "=http://127.0.0.1:" + std::to_string(members_[static_cast<std::size_t>(j)].peer_port);
    std::vector<std::string> args = {
        kEtcdBinary, "--name", "m" + std::to_string(i), "--data-dir", dir_ + "/m" + std::to_string(i) + ".etcd",
        "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster, "--initial-cluster-state", "new",
        "--initial-cluster-token", token_,
        // Fast elections on loopback: tests kill members.
        "--heartbeat-interval", "50", "--election-timeout", "500", "--logger", "zap", "--log-outputs", "stderr"};
    if (options_.tls) {
      const std::string d = dir_ + "/tls/";
      for (std::string a : {"--cert-file=" + d + "server.crt", "--key-file=" + d + "server.key",
                            "--trusted-ca-file=" + d + "ca.crt", std::string("--client-cert-auth")})
        args.push_back(a);
    }
    if (!options_.quota_backend_bytes.empty()) {
      args.push_back("--quota-backend-bytes");
      args.push_back(options_.quota_backend_bytes);
    }
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::string log = log_path(i);
    std::error_code ec;
    m.log_offset = std::filesystem::exists(log, ec) ? std::filesystem::file_size(log, ec) : 0;
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid < 0) {
      why = "fork failed";
      return false;
    }
    if (pid == 0) {  // only async-signal-safe calls from here on
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      int devnull = ::open("/dev/null", O_RDONLY);
      if (devnull >= 0) ::dup2(devnull, 0);
      ::execv(kEtcdBinary, argv.data());
      ::_exit(127);
    }
    m.pid = pid;
    return true;
  }

  bool wait_ready(int i, std::string& why) {
    Member& m = members_[static_cast<std::size_t>(i)];
    const std::string log = log_path(i);
    bool exited = false;
    // The log has no notification to block on: poll it.
    const bool ready = setpoint::testing::Eventually(
        [&] {
          std::ifstream f(log);
          f.seekg(static_cast<std::streamoff>(m.log_offset));
          std::stringstream s;
          s << f.rdbuf();
          if (s.str().find("\"msg\":\"serving client traffic") != std::string::npos) return true;
          int status = 0;
          exited = ::waitpid(m.pid, &status, WNOHANG) == m.pid;
          return exited;
        },
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.start_deadline), std::chrono::milliseconds(20));
    if (ready && !exited) return true;
    if (exited) {
      m.pid = -1;
      why = "etcd member " + std::to_string(i) + " exited; see " + log;
      return false;
    }
    why = "etcd member " + std::to_string(i) + " not ready within " + std::to_string(options_.start_deadline.count()) +
          " s; see " + log;
    return false;
  }

  void stop_all() {
    for (int i = 0; i < size(); ++i) kill(i);
  }

  std::string dir_;
  EtcdClusterOptions options_;
  std::vector<Member> members_;
  std::string token_;
  EtcdTlsFiles tls_;
};

}  // namespace setpoint::store::testing
