// FakeHttpServer: a scripted HTTP/1.1 server on 127.0.0.1:0 over plain sockets, for testing the
// client's retries, keep-alive and stream parsing. One thread per connection; counts connections
// and requests. The handler runs on connection threads, so it must be thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace setpoint::client::testing {

struct FakeRequest {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    return {};
  }
};

struct FakeReply {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;   // answer with Connection: close and close the socket
  std::string raw;      // when set, written verbatim instead of a built response
  bool hang = false;    // after writing, keep the connection open and silent until shutdown
  bool silent = false;  // write nothing at all, keep the connection open until shutdown
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 64);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }

  ~FakeHttpServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : conn_threads_) t.join();
    for (int fd : conn_fds_) ::close(fd);
  }

  unsigned short port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  int requests() const { return requests_.load(); }

 private:
  void accept_loop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      if (stopping_) {
        ::close(fd);
        return;
      }
      connections_.fetch_add(1);
      std::lock_guard lock(mu_);
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd] { serve(fd); });
    }
  }

  static bool WriteAll(int fd, const std::string& s) {
    std::size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<std::size_t>(n);
    }
    return true;
  }

  void serve(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      FakeRequest req;
      std::string head = in.substr(0, end);
      in.erase(0, end + 4);
      std::size_t line_end = head.find("\r\n");
      std::string first = head.substr(0, line_end);
      req.method = first.substr(0, first.find(' '));
      req.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        std::size_t e = head.find("\r\n", pos);
        if (e == std::string::npos) e = head.size();
        std::string line = head.substr(pos, e - pos);
        auto colon = line.find(':');
        if (colon != std::string::npos) {
          std::string v = line.substr(colon + 1);
          v.erase(0, v.find_first_not_of(' '));
          req.headers.emplace_back(line.substr(0, colon), v);
        }
        pos = e + 2;
      }
      std::size_t length = req.header("Content-Length").empty() ? 0 : std::stoul(req.header("Content-Length"));
      while (in.size() < length) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        in.append(buf, static_cast<std::size_t>(n));
      }
      req.body = in.substr(0, length);
      in.erase(0, length);
      requests_.fetch_add(1);

      FakeReply reply = handler_(req);
      if (reply.silent) {
        while (::recv(fd, buf, sizeof buf, 0) > 0) {
        }
        return;
      }
      std::string out = reply.raw;
      if (out.empty()) {
        out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\nContent-Type: application/json\r\n";
        for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
        out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
        out += reply.close ? "Connection: close\r\n\r\n" : "\r\n";
        out += reply.body;
      }
      if (!WriteAll(fd, out)) return;
      if (reply.hang) {
        while (::recv(fd, buf, sizeof buf, 0) > 0) {
        }
        return;
      }
      if (reply.close) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  Handler handler_;
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0}, requests_{0};
  std::mutex mu_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
  std::thread accept_thread_;
};

}  // namespace setpoint::client::testing
