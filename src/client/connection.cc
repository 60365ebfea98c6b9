#include "client/connection.h"

#include <sys/socket.h>

#include <openssl/ssl.h>

namespace setpoint::client::detail {

beast::error_code Connection::open(const Endpoint& ep, const TlsOptions& tls, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  beast::error_code ec = asio::error::would_block;
  asio::ip::tcp::resolver::results_type results;
  asio::ip::tcp::resolver resolver(ioc_);
  resolver.async_resolve(ep.host, ep.port, [&](beast::error_code e, asio::ip::tcp::resolver::results_type r) {
    ec = e;
    results = std::move(r);
  });
  ioc_.restart();
  ioc_.run_until(deadline);
  if (ec == asio::error::would_block) {
    resolver.cancel();
    ioc_.restart();
    ioc_.run();
    return beast::error::timeout;
  }
  if (ec) return ec;

  if (tls.context) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *tls.context);
    boost::system::error_code addr_ec;
    asio::ip::make_address(ep.host, addr_ec);
    // SNI only for names; a literal IP address must not be sent as server name (RFC 6066).
    if (addr_ec && !SSL_set_tlsext_host_name(tls_->native_handle(), ep.host.c_str()))
      return beast::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    if (tls.verify) {
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification(ep.host));
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ioc_);
  }

  auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (remaining.count() <= 0) return beast::error::timeout;
  tcp().expires_after(remaining);
  ec = {};
  tcp().async_connect(results, [&](beast::error_code e, const asio::ip::tcp::endpoint&) { ec = e; });
  ioc_.restart();
  ioc_.run();
  if (ec) return ec;
  tcp().socket().set_option(asio::ip::tcp::no_delay(true), ec);
  // Lets a long idle watch notice a peer that vanished without closing (the kernel's probes).
  tcp().socket().set_option(asio::socket_base::keep_alive(true), ec);
  ec = {};
  if (tls_) {
    tls_->async_handshake(ssl::stream_base::client, [&](beast::error_code e) { ec = e; });
    ioc_.restart();
    ioc_.run();
  }
  return ec;
}

bool Connection::idle_usable() {
  if (!plain_ && !tls_) return false;
  auto& sock = tcp().socket();
  if (!sock.is_open()) return false;
  char byte;
  ssize_t n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;                        // peer closed
  if (n > 0) return false;                         // unsolicited bytes: out of sync
  return errno == EAGAIN || errno == EWOULDBLOCK;  // nothing to read: alive
}

void Connection::close() {
  if (!plain_ && !tls_) return;
  beast::error_code ec;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  tcp().socket().close(ec);
}

void Connection::post_close() {
  asio::post(ioc_, [this] { close(); });
}

}  // namespace setpoint::client::detail
