// The HTTP transport seen by handlers: plain request and response values, and the pull
// interface that long-lived streaming responses (watches) implement. No Asio or Beast types
// here, so the API handlers compile without them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace setpoint::apiserver {

struct HttpRequest {
  std::string method;                                        // "GET", "POST", ...
  std::string target;                                        // raw request target, path plus query
  std::string path;                                          // percent-decoded path
  std::string query;                                         // raw query string (without '?')
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote;  // peer address

  std::string_view header(std::string_view name) const;  // "" when absent; name lower-case
};

// Bytes kept alive by whatever holds them — a cached object (its JSON), a shared constant, a
// string made for one response — so that a body piece or a stream chunk is written without a
// copy. Converts from a shared string.
struct SharedBytes {
  std::shared_ptr<const void> owner;
  std::string_view bytes;

  SharedBytes() = default;
  SharedBytes(std::shared_ptr<const void> o, std::string_view b) : owner(std::move(o)), bytes(b) {}
  template <class S>
  requires std::is_convertible_v<S*, const std::string*> SharedBytes(
      std::shared_ptr<S> s)  // NOLINT(google-explicit-constructor): a shared string is bytes
      : bytes(s ? std::string_view(*s) : std::string_view()) {
    owner = std::move(s);
  }
  std::size_t size() const { return bytes.size(); }
  explicit operator bool() const { return owner != nullptr; }
};

// A streaming body: the transport pulls chunks from it on the connection's strand.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  enum class Poll { kData, kWait, kEnd };
  // Appends the next chunks to `out`. kWait: nothing now; the source calls the waker when there
  // is, or the transport polls again at next_deadline(). kEnd: the stream is over (`out` may
  // still hold final chunks).
  virtual Poll poll(std::vector<SharedBytes>& out) = 0;
  virtual std::chrono::steady_clock::time_point next_deadline() const = 0;
  // Installed once before the first poll; thread-safe to call from anywhere.
  virtual void set_waker(std::function<void()> waker) = 0;
  // The client went away or the server is stopping; called on the strand after the last poll.
  virtual void close() = 0;
  // True once the stream cannot go on (a watch whose bounded queue overflowed): a write still
  // waiting on the client is abandoned and the connection closed at the next wake. Thread-safe.
  virtual bool abandoned() const { return false; }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  SharedBytes shared_body;  // used instead of body when set (a cached object, not copied)
  // Used instead of both when not empty: the body is these pieces in order (a list of cached
  // objects), never concatenated whole; the transport writes them through a bounded buffer.
  std::vector<SharedBytes> pieces;
  std::shared_ptr<StreamSource> stream;  // chunked streaming response when set
};

// Implemented by the API layer. handle() runs on a worker thread and may block on the store.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  virtual HttpResponse handle(HttpRequest& request) = 0;
  // A response for requests the transport rejects before parsing the body (413, 400).
  virtual HttpResponse transport_error(int http_code, std::string_view message) = 0;

  // Requests for which accepts_async() is true go to handle_async() on the connection's I/O
  // thread instead of handle() on a worker: it must not block, and calls `respond` exactly once,
  // from any thread (a store commit, say). Work that might block is handed to the executor the
  // transport installed with set_blocking_executor().
  virtual bool accepts_async(const HttpRequest& request) const { return false; }
  virtual void handle_async(HttpRequest& request, std::function<void(HttpResponse)> respond) {
    respond(handle(request));
  }
  virtual void set_blocking_executor(std::function<void(std::function<void()>)> run) { run_blocking_ = std::move(run); }

 protected:
  std::function<void(std::function<void()>)> run_blocking_;
};

// What one connection may hold and for how long (docs/operations.md explains each default).
struct ConnectionLimits {
  // Open connections in all; beyond it the longest-idle keep-alive connection is closed to make
  // room, or, with none idle, the new one is refused with 503. 0: the open-file limit at start
  // less a reserve for the store, logs and watches' files.
  std::size_t max_connections = 0;
  // Open connections from one client address; beyond it, 503. 0: no per-client limit.
  std::size_t max_connections_per_client = 4096;
  // From a request's first byte (a new connection's accept) to the end of its headers
  // (kube-apiserver's ReadHeaderTimeout is 32 s): a slowloris client is cut off after this.
  std::chrono::seconds header_timeout{32};
  // Between requests on a keep-alive connection (kube-apiserver's IdleTimeout, 90 s).
  std::chrono::seconds idle_timeout{90};
  // A body must arrive at least this fast: its deadline is header_timeout plus its size at this
  // rate (a chunked body is given the rate for max_body_bytes).
  std::size_t min_body_bytes_per_second = 64 * 1024;
  // A response write (not a watch's) that makes no progress for this long ends the connection.
  std::chrono::seconds write_timeout{60};
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 7080;
  int io_threads = 2;
  int worker_threads = 64;
  std::size_t max_body_bytes = 3 * 1024 * 1024;
  std::chrono::seconds shutdown_grace{10};
  ConnectionLimits limits;
};

struct ConnectionStats {
  std::size_t open = 0;               // client connections now
  std::size_t max = 0;                // the limit in effect
  std::uint64_t refused = 0;          // refused with 503 (a cap reached)
  std::uint64_t reclaimed = 0;        // idle ones closed to make room
  std::uint64_t accept_failures = 0;  // accept() errors (EMFILE, ENFILE, ...)
};

// Owns the listener, the connection sessions, the I/O threads and the worker pool.
// start()/stop() from one controlling thread; thread-safe otherwise.
class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts serving; returns the bound port (useful with port 0) or an error message.
  virtual std::pair<unsigned short, std::string> start() = 0;
  // Stops accepting, lets in-flight requests finish (up to the grace period), ends streams.
  virtual void stop() = 0;
  virtual std::size_t open_streams() const = 0;
  virtual ConnectionStats connection_stats() const = 0;
};

std::unique_ptr<HttpServer> NewHttpServer(HttpServerOptions options, HttpHandler& handler);

}  // namespace setpoint::apiserver
