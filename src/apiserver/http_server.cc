// Boost.Beast transport: one coroutine per connection on its own strand, handlers offloaded to a
// worker pool, watch streams written as HTTP/1.1 chunks pulled from a StreamSource.
#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include "apiserver/http.h"
#include "setpoint/common/fd_limit.h"
#include "setpoint/common/log_limiter.h"

namespace setpoint::apiserver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// Request headers: at most this many bytes (the request line included), and this many fields.
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::ptrdiff_t kMaxHeaderFields = 500;
// The first read of a request: whatever has arrived, up to this much.
constexpr std::size_t kFirstRead = 4096;
// Bodies made of pieces (lists) are written through a buffer of this size.
constexpr std::size_t kPieceBuffer = 256 * 1024;
// After answering a request it did not read to the end: how long, and how much, the rest of it
// is read and dropped before the connection closes (Go's net/http waits 500 ms).
constexpr std::chrono::milliseconds kLinger{500};
constexpr std::size_t kLingerBytes = 4 * 1024 * 1024;

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecodePath(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]);
      int lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

class BeastHttpServer final : public HttpServer {
 public:
  BeastHttpServer(HttpServerOptions options, HttpHandler& handler)
      : options_(std::move(options)),
        handler_(handler),
        ioc_(options_.io_threads),
        pool_(static_cast<std::size_t>(options_.worker_threads)),
        acceptor_(ioc_) {
    handler_.set_blocking_executor([this](std::function<void()> work) { asio::post(pool_, std::move(work)); });
  }

  ~BeastHttpServer() override { stop(); }

  std::pair<unsigned short, std::string> start() override {
    max_connections_ = options_.limits.max_connections;
    if (max_connections_ == 0) {
      // Leave descriptors for the store, logs, the agent's processes and outgoing connections.
      const std::uint64_t soft = CurrentOpenFileLimit().soft;
      const std::uint64_t reserve = std::clamp<std::uint64_t>(soft / 4, 32, 512);
      max_connections_ = soft > reserve + 16 ? static_cast<std::size_t>(soft - reserve) : 16;
    }
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(options_.address, ec);
    if (ec) return {0, "invalid listen address " + options_.address + ": " + ec.message()};
    tcp::endpoint ep(addr, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return {0, "cannot listen on " + options_.address + ":" + std::to_string(options_.port) + ": " + ec.message()};
    unsigned short port = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    for (int i = 0; i < options_.io_threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
    return {port, ""};
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    // End every stream cleanly, then give in-flight requests the grace period.
    {
      std::lock_guard lock(mu_);
      for (auto* s : streams_) s->stop();
      for (auto* c : sessions_) c->close_idle();
    }
    auto deadline = std::chrono::steady_clock::now() + options_.shutdown_grace;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mu_);
        if (active_ == 0) break;
        for (auto* c : sessions_) c->close_idle();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pool_.join();
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  std::size_t open_streams() const override {
    std::lock_guard lock(mu_);
    return streams_.size();
  }

  ConnectionStats connection_stats() const override {
    ConnectionStats s;
    {
      std::lock_guard lock(mu_);
      s.open = open_;
    }
    s.max = max_connections_;
    s.refused = refused_.load();
    s.reclaimed = reclaimed_.load();
    s.accept_failures = accept_failures_.load();
    return s;
  }

 private:
  // A connection's registration, so stop() can wake streams and close idle keep-alive sockets,
  // and the connection limits can reclaim the longest-idle one.
  struct Conn {
    virtual ~Conn() = default;
    virtual void stop() = 0;
    virtual void close_idle() = 0;
    // Waiting for the first byte of a request (a keep-alive connection between requests, or a new
    // one that has sent nothing yet); written on the strand, read anywhere.
    std::atomic<bool> idle{false};
    std::atomic<std::int64_t> idle_since{0};  // steady_clock ticks
    std::atomic<bool> reclaimed{false};
  };

  awaitable<void> accept_loop() {
    using std::chrono::milliseconds;
    milliseconds backoff{0};
    asio::steady_timer pause(ioc_);
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // Out of descriptors (EMFILE, ENFILE) or kernel memory: an immediate retry fails the same
        // way and spins. Make room by closing the longest-idle connection, then pause before the
        // next try, longer each time (Go's net/http: 5 ms doubling to 1 s). The connections
        // waiting meanwhile stay in the listen backlog.
        backoff = backoff.count() == 0 ? milliseconds(5) : std::min(backoff * 2, milliseconds(1000));
        accept_failures_.fetch_add(1, std::memory_order_relaxed);
        if (auto held = log_limits_.admit("accept"))
          spdlog::warn("accept: {}; pausing {} ms before accepting again{}", ec.message(), backoff.count(),
                       LogLimiter::Suffix(*held));
        {
          std::lock_guard lock(mu_);
          reclaim_idle_locked();
        }
        pause.expires_after(backoff);
        co_await pause.async_wait(kNoThrow);
        continue;
      }
      backoff = milliseconds(0);
      admit(std::move(socket));
    }
  }

  // Starts a session for a new connection, or refuses it when the limits say so.
  void admit(tcp::socket socket) {
    boost::system::error_code ec;
    auto ep = socket.remote_endpoint(ec);
    if (ec) return;  // gone already
    std::string client = ep.address().to_string();
    std::string refusal;
    {
      std::lock_guard lock(mu_);
      auto it = per_client_.find(client);
      const std::size_t from_client = it == per_client_.end() ? 0 : it->second;
      if (options_.limits.max_connections_per_client && from_client >= options_.limits.max_connections_per_client)
        refusal = "too many connections from " + client + " (the limit is " +
                  std::to_string(options_.limits.max_connections_per_client) + ")";
      else if (open_ >= max_connections_ && !reclaim_idle_locked())
        refusal = "the server has too many connections open (the limit is " + std::to_string(max_connections_) + ")";
      if (refusal.empty()) {
        ++open_;
        ++per_client_[client];
      }
    }
    if (!refusal.empty()) {
      refuse(socket, refusal);
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto ex = socket.get_executor();
    std::string remote = client + ":" + std::to_string(ep.port());
    asio::co_spawn(ex, session(beast::tcp_stream(std::move(socket)), std::move(client), std::move(remote)),
                   [](std::exception_ptr e) {
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("connection ended by exception: {}", ex.what());
                     }
                   });
  }

  // A 503 with a Status body, written once without waiting (a new socket's send buffer is empty),
  // then the connection is closed: a refusal holds no descriptor and no coroutine.
  void refuse(tcp::socket& socket, const std::string& why) {
    if (auto held = log_limits_.admit("refuse"))
      spdlog::warn("refused a connection: {}{}", why, LogLimiter::Suffix(*held));
    refused_.fetch_add(1, std::memory_order_relaxed);
    HttpResponse resp = handler_.transport_error(503, why);
    http::response<http::string_body> res;
    StartResponse(res, resp);
    res.set(http::field::retry_after, "1");
    res.keep_alive(false);
    res.body() = std::move(resp.body);
    res.prepare_payload();
    std::ostringstream text;
    text << res;
    const std::string bytes = text.str();
    boost::system::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(bytes), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
  }

  // Closes the connection idle the longest, if any; with mu_ held. The count drops when its
  // session ends, a moment later.
  bool reclaim_idle_locked() {
    Conn* oldest = nullptr;
    for (auto* c : sessions_)
      if (c->idle && !c->reclaimed && (!oldest || c->idle_since < oldest->idle_since)) oldest = c;
    if (!oldest) return false;
    oldest->reclaimed = true;
    oldest->close_idle();
    reclaimed_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // What is posted to a session's strand from elsewhere (stop(), a reclaim) may run after the
  // session has ended: it holds `alive` (false once the session is over, set on the strand) or a
  // weak pointer, never a bare pointer it would dereference after the session's frame is gone.
  struct Session : Conn {
    BeastHttpServer* server;
    beast::tcp_stream* stream;
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);  // read and written on the strand
    std::weak_ptr<asio::steady_timer> timer;                     // a stream's wake-up timer; set while in streams_
    std::atomic<bool> stopping{false};
    bool writing = false;  // a stream chunk is being written (strand only)
    // The session's frame goes on its strand (also when an exception ends it): what is still
    // queued for the strand then finds the session gone.
    ~Session() override { *alive = false; }
    void stop() override {
      stopping = true;
      asio::post(stream->get_executor(), [t = timer] {
        if (auto live = t.lock()) live->cancel();
      });
    }
    void close_idle() override {
      if (idle)
        asio::post(stream->get_executor(), [s = stream, alive = alive, this] {
          if (*alive && idle) s->socket().close();
        });
    }
  };

  // Reads one request's header and body under their deadlines: the header's runs from the
  // request's first byte (for a new connection, from accept), the body's is scaled to its size.
  // Returns the transport's error, or success with the message in `parser`.
  awaitable<boost::system::error_code> read_request(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                                    http::request_parser<http::string_body>& parser) {
    auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
    if (hec || parser.is_done()) co_return hec;
    const std::uint64_t size = parser.content_length().value_or(options_.max_body_bytes);
    const auto rate = std::max<std::size_t>(options_.limits.min_body_bytes_per_second, 1);
    stream.expires_after(options_.limits.header_timeout + std::chrono::seconds(size / rate));
    auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    co_return bec;
  }

  awaitable<void> session(beast::tcp_stream stream, std::string client, std::string remote) {
    beast::flat_buffer buffer;
    Session reg;
    reg.server = this;
    reg.stream = &stream;
    {
      std::lock_guard lock(mu_);
      sessions_.insert(&reg);
    }
    bool first = true;
    bool unread = false;  // the last request was answered before it was read to its end
    for (;;) {
      if (stopped_) break;
      if (first) stream.expires_after(options_.limits.header_timeout);
      if (buffer.size() == 0) {
        // Nothing of the next request yet: idle, and so the first to be reclaimed.
        if (!first) stream.expires_after(options_.limits.idle_timeout);
        reg.idle_since = std::chrono::steady_clock::now().time_since_epoch().count();
        reg.idle = true;
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kFirstRead), kNoThrow);
        reg.idle = false;
        if (ec) break;  // closed, idle too long, reclaimed, or a new connection that said nothing
        buffer.commit(n);
      }
      if (!first) stream.expires_after(options_.limits.header_timeout);
      first = false;
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(kMaxHeaderBytes);
      const boost::system::error_code ec = co_await read_request(stream, buffer, parser);
      stream.expires_never();
      // A client that went away or was too slow (slowloris): there is no one to answer.
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || ec == beast::error::timeout)
        break;
      HttpResponse resp;
      bool keep_alive = false;
      if (ec) {
        unread = true;  // the rest of this request may still be on its way
        if (ec == http::error::body_limit) {
          resp = handler_.transport_error(
              413, "the request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes");
        } else if (ec == http::error::header_limit) {
          resp = handler_.transport_error(431, "request headers too large");
        } else {
          resp = handler_.transport_error(400, "malformed HTTP request: " + ec.message());
        }
      } else if (std::distance(parser.get().begin(), parser.get().end()) > kMaxHeaderFields) {
        resp = handler_.transport_error(
            431, "too many request headers (the limit is " + std::to_string(kMaxHeaderFields) + ")");
      } else {
        auto& msg = parser.get();
        keep_alive = msg.keep_alive();
        HttpRequest req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        auto q = req.target.find('?');
        req.path = PercentDecodePath(std::string_view(req.target).substr(0, q));
        if (q != std::string::npos) req.query = req.target.substr(q + 1);
        for (const auto& f : msg) {
          std::string name(f.name_string());
          for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          req.headers.emplace_back(std::move(name), std::string(f.value()));
        }
        req.body = std::move(msg.body());
        req.remote = remote;
        {
          std::lock_guard lock(mu_);
          ++active_;
        }
        if (handler_.accepts_async(req)) {
          // Runs on this I/O thread up to its first wait; the answer comes back through a post to
          // this connection's strand (from a store commit, or from the worker pool).
          resp = co_await asio::async_initiate<decltype(use_awaitable), void(HttpResponse)>(
              [this, &req](auto completion) {
                using Completion = std::decay_t<decltype(completion)>;
                auto shared = std::make_shared<Completion>(std::move(completion));
                handler_.handle_async(req, [shared](HttpResponse r) {
                  auto ex = asio::get_associated_executor(*shared);
                  asio::post(ex, [shared, r = std::move(r)]() mutable { std::move (*shared)(std::move(r)); });
                });
              },
              use_awaitable);
        } else {
          resp = co_await asio::co_spawn(
              pool_.get_executor(), [this, &req]() -> awaitable<HttpResponse> { co_return handler_.handle(req); },
              use_awaitable);
        }
        {
          std::lock_guard lock(mu_);
          --active_;
        }
      }
      if (resp.stream) {
        co_await serve_stream(stream, reg, std::move(resp));
        break;
      }
      if (!resp.pieces.empty()) {
        // The body from the pieces, through one bounded buffer: a list of any size costs
        // kPieceBuffer of memory, not its size, and a write per kPieceBuffer, not per object.
        // (Small bodies go the string way below: one write for head and body.)
        http::response<http::empty_body> res;
        StartResponse(res, resp);
        std::uint64_t total = 0;
        for (const auto& p : resp.pieces) total += p.size();
        res.content_length(total);
        res.keep_alive(keep_alive && !stopped_);
        http::response_serializer<http::empty_body> sr(res);
        stream.expires_after(options_.limits.write_timeout);
        auto [hec, hn] = co_await http::async_write_header(stream, sr, kNoThrow);
        boost::system::error_code wec = hec;
        std::string buf;
        buf.reserve(kPieceBuffer);
        for (std::size_t i = 0; !wec && i < resp.pieces.size(); ++i) {
          buf += resp.pieces[i].bytes;
          resp.pieces[i] = {};  // what is written need not stay alive
          if (buf.size() >= kPieceBuffer || i + 1 == resp.pieces.size()) {
            stream.expires_after(options_.limits.write_timeout);
            std::tie(wec, std::ignore) = co_await asio::async_write(stream, asio::buffer(buf), kNoThrow);
            buf.clear();
          }
        }
        stream.expires_never();
        if (wec || !res.keep_alive()) break;
        continue;
      }
      // Status line and headers formatted here, and the body (a cached object's bytes, most often)
      // written from where it is: one gathered write, no copy of the body, no serializer.
      const bool keep = keep_alive && !stopped_;
      const std::string_view body = resp.shared_body ? resp.shared_body.bytes : std::string_view(resp.body);
      const std::string head = ResponseHead(resp, body.size(), keep);
      const std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body.data(), body.size())};
      stream.expires_after(options_.limits.write_timeout);
      auto [wec, wn] = co_await asio::async_write(stream, out, kNoThrow);
      stream.expires_never();
      if (wec || !keep) break;
    }
    {
      std::lock_guard lock(mu_);
      sessions_.erase(&reg);
      --open_;
      if (auto it = per_client_.find(client); it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    }
    if (unread) co_await linger(stream);
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.socket().close(ec);
  }

  // Closing with the rest of a request unread would make the kernel reset the connection, and a
  // client still sending it would get a broken pipe instead of the answer (the 413 or 431) already
  // written. So: stop sending, then read and drop what still comes, for a moment and up to a bound.
  static awaitable<void> linger(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(kLinger);
    std::array<char, 16 * 1024> scratch;
    for (std::size_t total = 0; total < kLingerBytes;) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), kNoThrow);
      if (rec) break;  // the client closed (or reset), or the moment is over
      total += n;
    }
    stream.expires_never();
  }

  // The status line and headers of a response with a body of `length` bytes (HTTP/1.1; no
  // Connection header when kept alive, as Beast writes it). Header values lose any CR or LF, so
  // that no value (a warning quoting a client's field name, say) can end the header early.
  static std::string ResponseHead(const HttpResponse& resp, std::size_t length, bool keep_alive) {
    std::string out;
    out.reserve(256);
    out += "HTTP/1.1 ";
    out += std::to_string(resp.status);
    out += ' ';
    out += http::obsolete_reason(static_cast<http::status>(resp.status));
    auto field = [&out](std::string_view name, std::string_view value) {
      out += name;
      out += ": ";
      out += WithoutLineBreaks(value);
      out += "\r\n";
    };
    out += "\r\n";
    field("Content-Type", resp.content_type);
    field("Cache-Control", "no-cache, private");
    for (const auto& [k, v] : resp.headers) field(k, v);
    if (!keep_alive) field("Connection", "close");
    field("Content-Length", std::to_string(length));
    out += "\r\n";
    return out;
  }

  // Status line and headers, common to every kind of body.
  template <class Body>
  static void StartResponse(http::response<Body>& res, const HttpResponse& resp) {
    res.version(11);
    res.result(static_cast<unsigned>(resp.status));
    res.set(http::field::content_type, resp.content_type);
    res.set(http::field::cache_control, "no-cache, private");
    for (const auto& [k, v] : resp.headers) res.insert(k, WithoutLineBreaks(v));
  }

  static std::string WithoutLineBreaks(std::string_view value) {
    std::string out(value);
    for (char& c : out)
      if (c == '\r' || c == '\n') c = ' ';
    return out;
  }

  awaitable<void> serve_stream(beast::tcp_stream& stream, Session& reg, HttpResponse resp) {
    std::shared_ptr<StreamSource> source = resp.stream;
    http::response<http::empty_body> res;
    StartResponse(res, resp);
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr(res);
    auto [hec, hn] = co_await http::async_write_header(stream, sr, kNoThrow);
    if (hec) {
      source->close();
      co_return;
    }
    auto timer = std::make_shared<asio::steady_timer>(stream.get_executor());
    reg.timer = timer;
    {
      std::lock_guard lock(mu_);
      streams_.insert(&reg);
    }
    auto ex = stream.get_executor();
    // While the timer lives, so do this frame, the session and the stream it points at.
    source->set_waker([ex, weak = std::weak_ptr<asio::steady_timer>(timer), src = source.get(), &reg, &stream] {
      asio::post(ex, [weak, src, &reg, &stream] {
        auto t = weak.lock();
        if (!t) return;
        t->cancel();
        // A watch whose queue overflowed while its client was not reading: the client could not
        // take the 410 anyway; end the connection now instead of after the write timeout, and it
        // relists when it reconnects.
        if (reg.writing && src->abandoned()) {
          boost::system::error_code ec;
          stream.socket().close(ec);
        }
      });
    });
    using namespace asio::experimental::awaitable_operators;
    // Write until the source ends; stop early when the client goes away (the read completes).
    bool client_gone = false;
    co_await (write_stream(stream, reg, *source, *timer, options_.limits.write_timeout) ||
              wait_closed(stream, client_gone));
    if (!client_gone) co_await asio::async_write(stream, http::make_chunk_last(), kNoThrow);
    {
      std::lock_guard lock(mu_);
      streams_.erase(&reg);
    }
    reg.timer.reset();
    source->close();
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  static awaitable<void> wait_closed(beast::tcp_stream& stream, bool& gone) {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::array<char, 512> buf;
    for (;;) {
      auto [ec, n] = co_await stream.socket().async_read_some(asio::buffer(buf), kNoThrow);
      if (ec) {
        gone = ec != asio::error::operation_aborted;
        co_return;
      }
    }
  }

  static awaitable<void> write_stream(beast::tcp_stream& stream, Session& reg, StreamSource& source,
                                      asio::steady_timer& timer, std::chrono::seconds write_timeout) {
    co_await asio::this_coro::throw_if_cancelled(false);
    std::vector<SharedBytes> chunks;
    for (;;) {
      chunks.clear();
      auto poll = reg.stopping ? StreamSource::Poll::kEnd : source.poll(chunks);
      if (!chunks.empty()) {
        std::vector<asio::const_buffer> bufs;
        bufs.reserve(chunks.size());
        for (auto& c : chunks) bufs.emplace_back(c.bytes.data(), c.bytes.size());
        // A client that stops reading is cut off as soon as its bounded watch queue overflows
        // (the waker closes the socket), or once a write has been stuck for the write timeout.
        stream.expires_after(write_timeout);
        reg.writing = true;
        auto [wec, wn] = co_await asio::async_write(stream, http::make_chunk(bufs), kNoThrow);
        reg.writing = false;
        stream.expires_never();
        if (wec) co_return;
        // The source said this was the end: its last chunks are out.
        if (poll == StreamSource::Poll::kEnd) co_return;
        continue;
      }
      if (poll == StreamSource::Poll::kEnd) co_return;
      if (poll == StreamSource::Poll::kData) continue;
      timer.expires_at(source.next_deadline());
      auto [tec] = co_await timer.async_wait(kNoThrow);
      (void)tec;
      // Cancellation of the whole operation (client gone) also lands here: check it.
      auto cs = co_await asio::this_coro::cancellation_state;
      if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
  }

  HttpServerOptions options_;
  HttpHandler& handler_;
  asio::io_context ioc_;
  asio::thread_pool pool_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  std::shared_ptr<int> alive_token_ = std::make_shared<int>(0);
  LogLimiter log_limits_;
  std::size_t max_connections_ = 0;
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> reclaimed_{0};
  std::atomic<std::uint64_t> accept_failures_{0};
  mutable std::mutex mu_;
  std::set<Conn*> streams_;
  std::set<Conn*> sessions_;
  std::size_t open_ = 0;                                     // sessions running
  std::unordered_map<std::string, std::size_t> per_client_;  // sessions per client address
  int active_ = 0;
};

}  // namespace

std::unique_ptr<HttpServer> NewHttpServer(HttpServerOptions options, HttpHandler& handler) {
  return std::make_unique<BeastHttpServer>(std::move(options), handler);
}

}  // namespace setpoint::apiserver
