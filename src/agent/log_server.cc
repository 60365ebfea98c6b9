#include "agent/log_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "common/fd_io.h"
#include <spdlog/spdlog.h>

#include "agent/log_files.h"

namespace setpoint::agent {

namespace json = boost::json;

namespace {

constexpr int kMaxRequests = 64;

void SendStatus(int fd, const Status& s) {
  int code = s.http_code();
  json::object body{{"kind", "Status"},    {"apiVersion", "v1"},     {"metadata", json::object{}},
                    {"status", "Failure"}, {"message", s.message()}, {"reason", s.reason()},
                    {"code", code}};
  std::string text = json::serialize(body);
  SendAll(fd, "HTTP/1.1 " + std::to_string(code) + " Error\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text);
}

std::string Decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

Result<std::int64_t> ParseInt(const std::string& name, const std::string& v) {
  try {
    std::size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used == v.size() && n >= 0) return static_cast<std::int64_t>(n);
  } catch (...) {
  }
  return Err(Status::BadRequest("invalid " + name + ": \"" + v + "\": must be a non-negative integer"));
}

// "GET /logs/ns/name?x=y HTTP/1.1" → the query.
Result<LogQuery> ParseRequest(std::string_view head) {
  auto line_end = head.find("\r\n");
  std::string_view line = head.substr(0, line_end);
  auto sp1 = line.find(' ');
  auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 <= sp1) return Err(Status::BadRequest("malformed request line"));
  if (line.substr(0, sp1) != "GET") return Err(Status::MethodNotAllowed("only GET is served"));
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
  if (path.substr(0, 6) != "/logs/") return Err(Status::NotFound("404 page not found"));
  std::string_view rest = path.substr(6);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos) return Err(Status::NotFound("404 page not found"));
  LogQuery q;
  q.ns = Decode(rest.substr(0, slash));
  q.name = Decode(rest.substr(slash + 1));
  if (q.ns.empty() || q.name.empty() || q.name.find('/') != std::string::npos)
    return Err(Status::NotFound("404 page not found"));
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
    auto eq = kv.find('=');
    std::string k = Decode(kv.substr(0, eq));
    std::string v = eq == std::string_view::npos ? "" : Decode(kv.substr(eq + 1));
    if (k == "follow")
      q.follow = v == "true" || v == "1";
    else if (k == "tailLines" || k == "limitBytes" || k == "epoch") {
      auto n = ParseInt(k, v);
      if (!n) return Err(n.error());
      if (k == "tailLines")
        q.tail_lines = *n;
      else if (k == "limitBytes")
        q.limit_bytes = *n;
      else
        q.epoch = static_cast<int>(*n);
    }
  }
  return q;
}

class LogServerImpl final : public LogServer {
 public:
  explicit LogServerImpl(LogResolver resolver) : resolver_(std::move(resolver)) {}

  ~LogServerImpl() override {
    stopping_ = true;
    if (listen_fd_ >= 0) ::shutdown(listen_fd_, SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return active_ == 0; });
  }

  Status listen(const std::string& listen) {
    auto colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::BadRequest("listen address must be ADDR:PORT: " + listen);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    if (::inet_pton(AF_INET, listen.substr(0, colon).c_str(), &addr.sin_addr) != 1)
      return Status::BadRequest("bad listen address " + listen);
    int port = 0;
    try {
      port = std::stoi(listen.substr(colon + 1));
    } catch (...) {
      return Status::BadRequest("bad listen port in " + listen);
    }
    if (port < 0 || port > 65535) return Status::BadRequest("bad listen port in " + listen);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 128) != 0)
      return Status::Unavailable("cannot listen on " + listen + ": " + std::strerror(errno));
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
    return Status::Ok();
  }

  unsigned short port() const override { return port_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;
      }
      {
        std::lock_guard lock(mu_);
        if (active_ >= kMaxRequests) {
          SendStatus(fd, Status::TooManyRequests("too many log requests"));
          ::close(fd);
          continue;
        }
        ++active_;
      }
      std::thread([this, fd] {
        serve(fd);
        ::close(fd);
        std::lock_guard lock(mu_);
        --active_;
        cv_.notify_all();
      }).detach();
    }
  }

  // True when the peer closed or the server is stopping.
  bool gone(int fd, int wait_ms) {
    if (stopping_) return true;
    pollfd p{fd, POLLIN | POLLRDHUP, 0};
    int r = ::poll(&p, 1, wait_ms);
    return stopping_ || (r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
  }

  void serve(int fd) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 16384) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    auto q = ParseRequest(head);
    if (!q) return SendStatus(fd, q.error());
    auto source = resolver_(*q);
    if (!source) return SendStatus(fd, source.error());
    struct stat st {};
    std::uint64_t size = ::stat(source->path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    std::optional<std::int64_t> tail = q->tail_lines;
    // limitBytes counts from where the output starts (kubelet semantics), after tailLines chose it.
    auto text = ReadTail(source->path, tail, std::nullopt);
    if (!text && text.error().code() != StatusCode::kNotFound) return SendStatus(fd, text.error());
    if (text && q->limit_bytes && static_cast<std::int64_t>(text->size()) > *q->limit_bytes)
      text->resize(static_cast<std::size_t>(*q->limit_bytes));
    if (!SendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n")) return;
    if (text && !SendAll(fd, *text)) return;
    if (!q->follow) return;
    LogFollower follower(source->path, size);
    std::int64_t budget = q->limit_bytes.value_or(-1);
    if (budget >= 0 && text) budget -= static_cast<std::int64_t>(text->size());
    for (;;) {
      auto more = follower.read();
      if (more && !more->empty()) {
        std::string_view out = *more;
        if (budget >= 0 && static_cast<std::int64_t>(out.size()) > budget)
          out = out.substr(0, static_cast<std::size_t>(budget));
        if (!SendAll(fd, out)) return;
        if (budget >= 0 && (budget -= static_cast<std::int64_t>(out.size())) <= 0) return;
        continue;
      }
      if (!source->alive || !source->alive()) {
        // The process is gone: send what it wrote last, then end.
        auto last = follower.read();
        if (last && !last->empty()) SendAll(fd, *last);
        return;
      }
      if (gone(fd, 100)) return;
    }
  }

  LogResolver resolver_;
  int listen_fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  int active_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace

Result<std::unique_ptr<LogServer>> LogServer::Start(const std::string& listen, LogResolver resolver) {
  auto s = std::make_unique<LogServerImpl>(std::move(resolver));
  if (Status st = s->listen(listen); !st.ok()) return Err(std::move(st));
  return std::unique_ptr<LogServer>(std::move(s));
}

}  // namespace setpoint::agent
