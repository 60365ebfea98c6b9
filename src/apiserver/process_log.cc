// GET …/processes/NAME/log: the API server proxies to the log endpoint of the agent that runs the
// process (its Agent's status.endpoint), as kube-apiserver proxies pods/log to the kubelet. The
// agent answers with the body until it closes the connection; a followed log streams through a
// StreamSource fed by one reader thread per request.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/json.hpp>

#include "common/fd_io.h"

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxLogBody = 64u << 20;

// A connected socket to host:port within `timeout_ms`, or the error in Go's dial words.
Result<int> Dial(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string where = host + ":" + std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return Err(Status::Unavailable("dial tcp " + where + ": lookup " + host + ": " + ::gai_strerror(rc)));
  std::string last = "no address";
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, timeout_ms) == 1 ? 0 : -1;
      int err = rc == 0 ? 0 : ETIMEDOUT;
      socklen_t len = sizeof err;
      if (rc == 0) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) {
        errno = err;
        rc = -1;
      }
    }
    if (rc == 0) {
      ::freeaddrinfo(res);
      int flags = 0;  // back to blocking for the simple reads below
      ::ioctl(fd, FIONBIO, &flags);
      return fd;
    }
    last = errno == ETIMEDOUT ? "i/o timeout" : std::string("connect: ") + std::strerror(errno);
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Err(Status::Unavailable("dial tcp " + where + ": " + last));
}

// Streams the rest of the agent's body to the client.
class AgentLogStream final : public StreamSource {
 public:
  AgentLogStream(int fd, std::string already) : fd_(fd) {
    if (!already.empty()) chunks_.push_back(std::move(already));
    reader_ = std::thread([this] { read_loop(); });
  }
  ~AgentLogStream() override { close(); }

  Poll poll(std::vector<SharedBytes>& out) override {
    std::lock_guard lock(mu_);
    while (!chunks_.empty()) {
      out.push_back(std::make_shared<const std::string>(std::move(chunks_.front())));
      chunks_.pop_front();
    }
    if (done_) return Poll::kEnd;
    return out.empty() ? Poll::kWait : Poll::kData;
  }
  std::chrono::steady_clock::time_point next_deadline() const override {
    return std::chrono::steady_clock::now() + std::chrono::seconds(30);
  }
  void set_waker(std::function<void()> waker) override {
    std::lock_guard lock(mu_);
    waker_ = std::move(waker);
  }
  void close() override {
    if (closed_.exchange(true)) return;
    ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    ::close(fd_);
  }

 private:
  void read_loop() {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      std::function<void()> wake;
      {
        std::lock_guard lock(mu_);
        if (n > 0)
          chunks_.emplace_back(buf, static_cast<std::size_t>(n));
        else
          done_ = true;
        wake = waker_;
      }
      if (wake) wake();
      if (n <= 0) return;
    }
  }

  const int fd_;
  std::mutex mu_;
  std::deque<std::string> chunks_;  // GUARDED_BY(mu_)
  bool done_ = false;               // GUARDED_BY(mu_)
  std::function<void()> waker_;     // GUARDED_BY(mu_)
  std::atomic<bool> closed_{false};
  std::thread reader_;
};

}  // namespace

HttpResponse ApiHandler::do_log(const Ctx& ctx, std::string_view process_json) {
  auto parsed = ParseJson(process_json);
  if (!parsed || !parsed->is_object()) return error(Status::Internal("stored process is not an object"), &ctx);
  const json::object& process = parsed->get_object();
  std::string agent;
  if (const json::object* st = GetObject(process, "status")) agent = std::string(GetStringOr(*st, "agent", ""));
  if (agent.empty())
    if (const json::object* spec = GetObject(process, "spec")) agent = std::string(GetStringOr(*spec, "agentName", ""));
  if (agent.empty())
    return error(Status::BadRequest("process \"" + ctx.ri.name + "\" is waiting to be scheduled to an agent"), &ctx);
  ResourceInfoPtr agents = ctx.reg->find("setpoint.dev", "agents");
  auto agent_obj = agents ? cache_.get(agents->key("", agent)) : nullptr;
  if (!agent_obj)
    return error(Status::BadRequest("agent \"" + agent + "\" of process \"" + ctx.ri.name + "\" is not registered"),
                 &ctx);
  auto agent_parsed = ParseJson(agent_obj->json);
  const json::object* endpoint = nullptr;
  if (agent_parsed && agent_parsed->is_object())
    if (const json::object* st = GetObject(agent_parsed->get_object(), "status")) endpoint = GetObject(*st, "endpoint");
  std::string host = endpoint ? std::string(GetStringOr(*endpoint, "address", "")) : "";
  int port = endpoint ? static_cast<int>(GetInt(*endpoint, "port").value_or(0)) : 0;
  if (host.empty() || port <= 0)
    return error(Status::BadRequest("agent \"" + agent + "\" has not published its endpoint yet"), &ctx);

  std::string query;
  bool follow = false;
  for (const char* name : {"follow", "tailLines", "limitBytes", "epoch"}) {
    auto v = ctx.q.get(name);
    if (!v || v->empty()) continue;
    if (std::string_view(name) == "follow") {
      follow = *v == "true" || *v == "1";
      if (follow) query += "&follow=true";
      continue;
    }
    if (v->find_first_not_of("0123456789") != std::string::npos || v->size() > 12)
      return error(Status::BadRequest(std::string(name) + ": must be a non-negative integer, got \"" + *v + "\""),
                   &ctx);
    query += "&" + std::string(name) + "=" + *v;
  }
  if (!query.empty()) query[0] = '?';
  auto fd = Dial(host, port, 5000);
  if (!fd) return error(fd.error(), &ctx);
  timeval tv{10, 0};
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req = "GET /logs/" + ctx.ri.ns + "/" + ctx.ri.name + query + " HTTP/1.1\r\nHost: " + host +
                    "\r\nConnection: close\r\n\r\n";
  std::string head;
  char buf[16384];
  bool sent = SendAll(*fd, req);
  std::size_t header_end = std::string::npos;
  while (sent && (header_end = head.find("\r\n\r\n")) == std::string::npos && head.size() < 65536) {
    ssize_t n = ::recv(*fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
  }
  if (header_end == std::string::npos) {
    ::close(*fd);
    return error(Status::Unavailable("agent \"" + agent + "\" at " + host + ":" + std::to_string(port) +
                                     " did not answer the log request"),
                 &ctx);
  }
  int code = 0;
  if (head.size() > 12) code = std::atoi(head.c_str() + 9);
  std::string body = head.substr(header_end + 4);
  if (follow && code == 200) {
    tv = {0, 0};
    ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    HttpResponse r;
    r.content_type = "text/plain";
    r.stream = std::make_shared<AgentLogStream>(*fd, std::move(body));
    return r;
  }
  for (;;) {
    ssize_t n = ::recv(*fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || body.size() > kMaxLogBody) break;
    body.append(buf, static_cast<std::size_t>(n));
  }
  ::close(*fd);
  HttpResponse r;
  r.status = code ? code : 502;
  r.content_type = code == 200 ? "text/plain" : "application/json";
  r.body = std::move(body);
  return r;
}

}  // namespace setpoint::apiserver
