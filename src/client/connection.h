// Connection: one HTTP/1.1 connection (plain or TLS) with its own single-threaded io_context,
// driven by whichever thread currently holds the connection ("synchronous with deadlines": start
// async operations, then run the io_context until they finish or the deadline passes).
//
// Confined: one thread at a time (the pool hands it over under its mutex). The only cross-thread
// entry is post_close(), used by WatchStream::cancel(). Private to src/client.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace setpoint::client::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

struct Endpoint {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;
  std::string base_path;  // "" or "/prefix" without a trailing slash
};

struct TlsOptions {
  ssl::context* context = nullptr;  // null for http://
  bool verify = true;
};

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Resolves, connects and (for TLS) handshakes, all within `timeout`.
  beast::error_code open(const Endpoint& ep, const TlsOptions& tls, std::chrono::milliseconds timeout);

  // True when an idle connection still looks usable: open, and the peer has neither closed it nor
  // sent unsolicited bytes.
  bool idle_usable();

  // Runs `start(stream)` (which starts one async operation) and drives the io_context until it
  // completes; tcp_stream's expiry bounds every operation started with a deadline.
  template <typename Start>
  void run(Start&& start) {
    if (tls_)
      start(*tls_);
    else
      start(*plain_);
    ioc_.restart();
    ioc_.run();
  }

  // Drives the io_context until `deadline` or until it runs out of work.
  void run_until(std::chrono::steady_clock::time_point deadline) {
    ioc_.restart();
    ioc_.run_until(deadline);
  }

  template <typename F>
  decltype(auto) with_stream(F&& f) {
    if (tls_) return f(*tls_);
    return f(*plain_);
  }

  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  beast::flat_buffer& buffer() { return buffer_; }
  void close();
  // Thread-safe: closes the socket on the io_context's thread, aborting a pending read.
  void post_close();

  bool reused = false;

 private:
  asio::io_context ioc_{1};
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

}  // namespace setpoint::client::detail
