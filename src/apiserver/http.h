// The HTTP transport seen by handlers: plain request and response values, and the pull
// interface that long-lived streaming responses (watches) implement. No Asio or Beast types
// here, so the API handlers compile without them.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace setpoint::apiserver {

struct HttpRequest {
  std::string method;     // "GET", "POST", ...
  std::string target;     // raw request target, path plus query
  std::string path;       // percent-decoded path
  std::string query;      // raw query string (without '?')
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote;     // peer address

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
    requires std::is_convertible_v<S*, const std::string*>
  SharedBytes(std::shared_ptr<S> s)  // NOLINT(google-explicit-constructor): a shared string is bytes
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
  std::shared_ptr<StreamSource> stream;             // chunked streaming response when set
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

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  unsigned short port = 7080;
  int io_threads = 2;
  int worker_threads = 64;
  std::size_t max_body_bytes = 3 * 1024 * 1024;
  std::chrono::seconds shutdown_grace{10};
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
};

std::unique_ptr<HttpServer> NewHttpServer(HttpServerOptions options, HttpHandler& handler);

}  // namespace setpoint::apiserver
