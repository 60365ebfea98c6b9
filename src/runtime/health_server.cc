#include "setpoint/runtime/health_server.h"

#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace setpoint::runtime {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class HealthServerImpl final : public HealthServer {
 public:
  HealthServerImpl(HealthHandlers handlers) : handlers_(std::move(handlers)), acceptor_(io_) {}

  ~HealthServerImpl() override {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Status listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos) return Status::BadRequest("listen address must be ADDR:PORT: " + listen);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(listen.substr(0, colon), ec);
    if (ec) return Status::BadRequest("bad listen address " + listen + ": " + ec.message());
    unsigned long port = 0;
    try {
      port = std::stoul(listen.substr(colon + 1));
    } catch (...) {
      return Status::BadRequest("bad listen port in " + listen);
    }
    if (port > 65535) return Status::BadRequest("bad listen port in " + listen);
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + listen + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  unsigned short port() const override { return port_; }

 private:
  struct Session {
    explicit Session(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) read(std::make_shared<Session>(std::move(socket)));
      accept();
    });
  }

  void read(std::shared_ptr<Session> s) {
    s->req = {};
    s->stream.expires_after(std::chrono::seconds(10));
    http::async_read(s->stream, s->buffer, s->req, [this, s](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      answer(*s);
      http::async_write(s->stream, s->res, [this, s](boost::system::error_code ec, std::size_t) {
        if (ec || !s->res.keep_alive()) {
          s->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
          return;
        }
        read(s);
      });
    });
  }

  void answer(Session& s) {
    auto& res = s.res;
    res = {};
    res.version(s.req.version());
    res.keep_alive(s.req.keep_alive());
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    const auto method = s.req.method();
    std::string target(s.req.target());
    if (auto q = target.find('?'); q != std::string::npos) target.resize(q);
    if (method != http::verb::get && method != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "method not allowed\n";
    } else if (target == "/healthz" || target == "/livez") {
      const bool ok = !handlers_.healthy || handlers_.healthy();
      res.result(ok ? http::status::ok : http::status::internal_server_error);
      res.body() = ok ? "ok" : "unhealthy";
    } else if (target == "/readyz") {
      const bool ok = !handlers_.ready || handlers_.ready();
      res.result(ok ? http::status::ok : http::status::service_unavailable);
      res.body() = ok ? "ok" : "not ready";
    } else if (target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      if (handlers_.metrics) res.body() = handlers_.metrics();
    } else {
      res.result(http::status::not_found);
      res.body() = "404 page not found\n";
    }
    if (method == http::verb::head) {
      res.content_length(res.body().size());
      res.body().clear();
      return;
    }
    res.prepare_payload();
  }

  HealthHandlers handlers_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<HealthServer>> HealthServer::Start(const std::string& listen, HealthHandlers handlers) {
  auto server = std::make_unique<HealthServerImpl>(std::move(handlers));
  if (Status s = server->listen(listen); !s.ok()) return Err(std::move(s));
  return std::unique_ptr<HealthServer>(std::move(server));
}

}  // namespace setpoint::runtime
