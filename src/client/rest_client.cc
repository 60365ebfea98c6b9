// RestClient over Boost.Beast: connection pool, retries, and streaming watches.
#include "setpoint/client/rest_client.h"

#include <condition_variable>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "client/connection.h"
#include "setpoint/common/json.h"

namespace setpoint::client {

using namespace detail;

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
  }
  return "GET";
}

std::string_view Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

namespace {

constexpr std::uint64_t kMaxBody = 1ull << 30;
constexpr std::uint32_t kMaxHeader = 1u << 16;
constexpr std::size_t kMaxWatchEvent = 64u << 20;  // one event line; guards against a runaway peer

http::verb Verb(Method m) {
  switch (m) {
    case Method::kGet:
      return http::verb::get;
    case Method::kPost:
      return http::verb::post;
    case Method::kPut:
      return http::verb::put;
    case Method::kPatch:
      return http::verb::patch;
    case Method::kDelete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

bool Idempotent(Method m) { return m != Method::kPost; }

Result<std::string> ReadWholeFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(Status::BadRequest(std::string(what) + " " + path + " cannot be read"));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<Endpoint> ParseServer(const std::string& server) {
  auto u = boost::urls::parse_uri(server);
  if (!u) return Err(Status::BadRequest("server URL \"" + server + "\" is not a URL"));
  Endpoint ep;
  std::string scheme(u->scheme());
  if (scheme == "https")
    ep.tls = true;
  else if (scheme != "http")
    return Err(Status::BadRequest("server URL \"" + server + "\" must be http:// or https://"));
  if (u->host_type() == boost::urls::host_type::ipv6)
    ep.host = u->host_address();
  else
    ep.host = u->host();
  if (ep.host.empty()) return Err(Status::BadRequest("server URL \"" + server + "\" has no host"));
  ep.port = u->has_port() ? std::string(u->port()) : (ep.tls ? "443" : "80");
  ep.host_header = std::string(u->encoded_host_and_port());
  ep.base_path = std::string(u->encoded_path());
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  return ep;
}

Status TransportStatus(const beast::error_code& ec, std::string_view what, const Endpoint& ep) {
  std::string m = std::string(what) + " " + ep.host + ":" + ep.port + ": " + ec.message();
  if (ec == beast::error::timeout) return Status::Timeout(std::move(m));
  return Status::Unavailable(std::move(m));
}

Status WatchErrorStatus(const boost::json::value& object) {
  if (!object.is_object()) return Status::Internal("watch ERROR event without a Status object");
  auto code = GetInt(object.as_object(), "code").value_or(500);
  return StatusFromResponse(static_cast<int>(code), ToJson(object));
}

// Reads a streaming response body chunk by chunk with a deadline; shared by watches and raw
// streams. Not thread-safe except cancel().
class BodyReader {
 public:
  using Parser = http::response_parser<http::buffer_body>;
  BodyReader(std::unique_ptr<Parser> parser, std::unique_ptr<Connection> conn)
      : parser_(std::move(parser)), conn_(std::move(conn)) {}
  ~BodyReader() { conn_->close(); }

  enum class Got { kData, kIdle, kEnd };
  // Appends what arrives before `deadline` to `out`. kEnd when the body is complete, the
  // connection broke (error() then says how) or cancel() was called.
  Got read(std::string& out, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (cancelled_.load() || done_) return Got::kEnd;
      if (!in_flight_) {
        if (parser_->is_done()) {
          done_ = true;
          return Got::kEnd;
        }
        parser_->get().body().data = buf_;
        parser_->get().body().size = sizeof buf_;
        in_flight_ = true;
        completed_ = false;
        conn_->with_stream([&](auto& s) {
          http::async_read_some(s, conn_->buffer(), *parser_, [this](beast::error_code ec, std::size_t) {
            completed_ = true;
            ec_ = ec;
          });
        });
      }
      conn_->run_until(deadline);
      if (!completed_) {
        if (cancelled_.load()) continue;
        return Got::kIdle;  // the read stays pending for the next call
      }
      in_flight_ = false;
      const std::size_t n = sizeof buf_ - parser_->get().body().size;
      out.append(buf_, n);
      if (ec_ && ec_ != http::error::need_buffer) {
        done_ = true;
        if (!cancelled_.load() && !parser_->is_done()) error_ = Status::Unavailable(ec_.message());
      }
      if (n > 0 || done_) return n > 0 ? Got::kData : Got::kEnd;
    }
  }
  bool cancelled() const { return cancelled_.load(); }
  // Why the body ended early (Ok when it ended normally or was cancelled): the transport's words.
  const Status& error() const { return error_; }
  void cancel() {
    cancelled_.store(true);
    conn_->post_close();
  }

 private:
  std::unique_ptr<Parser> parser_;
  char buf_[16384];
  bool in_flight_ = false;
  bool completed_ = false;
  bool done_ = false;
  beast::error_code ec_;
  Status error_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Connection> conn_;  // last: destroyed first, with the pending operations
};

// One watch response: a chunked body of newline-delimited JSON events.
class WatchStreamImpl final : public WatchStream {
 public:
  explicit WatchStreamImpl(std::unique_ptr<BodyReader> reader) : reader_(std::move(reader)) {}

  Result<std::optional<WatchEvent>> next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (reader_->cancelled() && !ended_) {
        ended_ = true;
        events_.clear();
        final_ = Status::Ok();
      }
      if (!events_.empty()) {
        WatchEvent e = std::move(events_.front());
        events_.pop_front();
        return std::optional<WatchEvent>(std::move(e));
      }
      if (ended_) {
        if (!final_.ok()) return Err(std::exchange(final_, Status::Ok()));
        return std::optional<WatchEvent>();
      }
      auto got = reader_->read(pending_, deadline);
      if (got == BodyReader::Got::kIdle) return std::optional<WatchEvent>();
      if (got == BodyReader::Got::kEnd && pending_.find_first_not_of(" \r\t\n") != std::string::npos)
        pending_ += '\n';  // a last event without its newline
      drain_lines();
      if (pending_.size() > kMaxWatchEvent && final_.ok()) {
        final_ = Status::Unavailable("watch event larger than " + std::to_string(kMaxWatchEvent) + " bytes");
        ended_ = true;
      }
      if (got == BodyReader::Got::kEnd) {
        ended_ = true;
        if (final_.ok() && !reader_->error().ok())
          final_ = Status::Unavailable("watch connection lost: " + reader_->error().message());
      }
    }
  }

  bool ended() const override { return ended_ && events_.empty() && final_.ok(); }
  void cancel() override { reader_->cancel(); }

 private:
  void drain_lines() {
    std::size_t start = 0;
    for (std::size_t nl; final_.ok() && (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(pending_.data() + start, nl - start);
      if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
      auto v = ParseJson(line);
      if (!v || !v->is_object()) {
        final_ = Status::Unavailable("watch stream carried something that is not a JSON event");
        ended_ = true;
        break;
      }
      auto& o = v->as_object();
      std::string type(GetStringOr(o, "type", ""));
      boost::json::value object = o.contains("object") ? o["object"] : boost::json::value();
      if (type == "ERROR") {
        final_ = WatchErrorStatus(object);
        ended_ = true;
        break;
      }
      events_.push_back(WatchEvent{std::move(type), std::move(object)});
    }
    pending_.erase(0, start);
  }

  std::unique_ptr<BodyReader> reader_;
  std::string pending_;
  std::deque<WatchEvent> events_;
  Status final_;
  bool ended_ = false;
};

class ByteStreamImpl final : public ByteStream {
 public:
  explicit ByteStreamImpl(std::unique_ptr<BodyReader> reader) : reader_(std::move(reader)) {}
  Result<std::optional<std::string>> next(std::chrono::milliseconds timeout) override {
    if (ended_) return std::optional<std::string>();
    std::string out;
    auto got = reader_->read(out, std::chrono::steady_clock::now() + timeout);
    if (got == BodyReader::Got::kEnd) {
      ended_ = true;
      if (!reader_->error().ok() && out.empty())
        return Err(Status::Unavailable("stream connection lost: " + reader_->error().message()));
      if (out.empty()) return std::optional<std::string>();
    }
    return std::optional<std::string>(std::move(out));
  }
  void cancel() override { reader_->cancel(); }

 private:
  std::unique_ptr<BodyReader> reader_;
  bool ended_ = false;
};

// The outcome of one attempt: a response, or a transport error and whether bytes were sent.
struct Attempt {
  std::optional<Response> response;
  Status error;
  bool sent = false;
};

class RestClientImpl final : public RestClient {
 public:
  RestClientImpl(RestConfig config, RestClientOptions options, Endpoint ep, std::unique_ptr<ssl::context> tls,
                 std::string token)
      : config_(std::move(config)),
        options_(std::move(options)),
        ep_(std::move(ep)),
        tls_(std::move(tls)),
        token_(std::move(token)) {
    if (!options_.env) options_.env = DefaultEnv();
  }

  ~RestClientImpl() override {
    std::lock_guard lock(mu_);
    for (auto& c : idle_) c->close();
  }

  Result<Response> request(Method method, std::string_view path_and_query, std::string_view body,
                           std::string_view content_type, const Headers& headers) override {
    auto req = build(method, path_and_query, body, content_type, headers);
    const RetryPolicy& rp = options_.retry;
    for (int attempt = 1;; ++attempt) {
      Attempt a = once(req);
      std::chrono::milliseconds delay = backoff(attempt);
      Status failure;
      if (a.response) {
        if (a.response->status >= 200 && a.response->status < 300) return std::move(*a.response);
        int code = a.response->status;
        failure = StatusFromResponse(code, a.response->body, a.response->header("Retry-After"));
        bool retry = code == 429 || (code >= 500 && code != 501 && Idempotent(method));
        if (!retry) return Err(std::move(failure));
        if (failure.retry_after_seconds() > 0) {
          if (std::chrono::seconds(failure.retry_after_seconds()) > rp.max_retry_after) return Err(std::move(failure));
          delay = std::chrono::seconds(failure.retry_after_seconds());
        }
      } else {
        failure = std::move(a.error);
        // After the request went out, only an idempotent verb may be sent again; a timeout after
        // sending is not retried either (the server may still be working on it).
        bool retry = !a.sent || (Idempotent(method) && failure.code() != StatusCode::kTimeout);
        if (!retry) return Err(std::move(failure));
      }
      if (attempt >= rp.max_attempts) return Err(std::move(failure));
      options_.env->sleep_for(delay);
    }
  }

  Result<WatchStreamPtr> watch(std::string_view path_and_query) override {
    return watch_with_headers(path_and_query, {});
  }

  Result<WatchStreamPtr> watch_with_headers(std::string_view path_and_query, const Headers& headers) override {
    auto reader = open_stream(path_and_query, "watch request to", headers);
    if (!reader) return Err(reader.error());
    return WatchStreamPtr(std::make_unique<WatchStreamImpl>(std::move(*reader)));
  }

  Result<ByteStreamPtr> stream(std::string_view path_and_query) override {
    auto reader = open_stream(path_and_query, "request to");
    if (!reader) return Err(reader.error());
    return ByteStreamPtr(std::make_unique<ByteStreamImpl>(std::move(*reader)));
  }

  const RestConfig& config() const override { return config_; }
  std::size_t connections_opened() const override { return opened_.load(); }

 private:
  Result<std::unique_ptr<BodyReader>> open_stream(std::string_view path_and_query, std::string_view what,
                                                  const Headers& headers = {}) {
    auto req = build(Method::kGet, path_and_query, {}, {}, headers);
    for (int attempt = 1;; ++attempt) {
      auto conn = std::make_unique<Connection>();
      Status failure;
      std::chrono::milliseconds delay = backoff(attempt);
      if (auto open_ec = conn->open(ep_, tls_options(), config_.timeout)) {
        failure = TransportStatus(open_ec, "cannot connect to", ep_);
      } else {
        opened_.fetch_add(1);
        auto parser = std::make_unique<BodyReader::Parser>();
        parser->body_limit(boost::none);
        parser->header_limit(kMaxHeader);
        beast::error_code ec;
        conn->tcp().expires_after(config_.timeout);
        conn->run([&](auto& s) { http::async_write(s, req, [&](beast::error_code e, std::size_t) { ec = e; }); });
        if (!ec)
          conn->run([&](auto& s) {
            http::async_read_header(s, conn->buffer(), *parser, [&](beast::error_code e, std::size_t) { ec = e; });
          });
        if (ec) {
          failure = TransportStatus(ec, what, ep_);
        } else {
          int code = parser->get().result_int();
          if (code >= 200 && code < 300) {
            conn->tcp().expires_never();
            return std::make_unique<BodyReader>(std::move(parser), std::move(conn));
          }
          std::string body = read_rest(*conn, *parser);
          failure = StatusFromResponse(code, body, std::string(parser->get()[http::field::retry_after]));
          if (!(code == 429 || (code >= 500 && code != 501))) return Err(std::move(failure));
          if (failure.retry_after_seconds() > 0) delay = std::chrono::seconds(failure.retry_after_seconds());
        }
      }
      if (attempt >= options_.retry.max_attempts) return Err(std::move(failure));
      options_.env->sleep_for(delay);
    }
  }

  http::request<http::string_body> build(Method method, std::string_view target, std::string_view body,
                                         std::string_view content_type, const Headers& headers) const {
    http::request<http::string_body> req{Verb(method), ep_.base_path + std::string(target), 11};
    req.set(http::field::host, ep_.host_header);
    req.set(http::field::user_agent, config_.user_agent);
    req.set(http::field::accept, "application/json");
    if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
    if (!body.empty() || method != Method::kGet) {
      if (!content_type.empty()) req.set(http::field::content_type, content_type);
      req.body() = std::string(body);
    }
    for (const auto& [k, v] : headers) req.set(k, v);
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  std::chrono::milliseconds backoff(int attempt) const {
    double base = static_cast<double>(options_.retry.initial_backoff.count());
    double cap = static_cast<double>(options_.retry.max_backoff.count());
    double d = std::min(cap, base * static_cast<double>(1ull << std::min(attempt - 1, 30)));
    // "Equal jitter": never less than half the exponential step, so retries do spread out.
    return std::chrono::milliseconds(static_cast<std::int64_t>(d / 2 + d / 2 * options_.env->random()));
  }

  TlsOptions tls_options() const { return {tls_.get(), !config_.insecure_skip_tls_verify}; }

  // Reads the remainder of a buffer_body response into a string (bounded by the timeout).
  std::string read_rest(Connection& conn, BodyReader::Parser& parser) {
    std::string out;
    char buf[8192];
    conn.tcp().expires_after(config_.timeout);
    while (!parser.is_done() && out.size() < (1u << 20)) {
      parser.get().body().data = buf;
      parser.get().body().size = sizeof buf;
      beast::error_code ec;
      conn.run([&](auto& s) {
        http::async_read_some(s, conn.buffer(), parser, [&](beast::error_code e, std::size_t) { ec = e; });
      });
      out.append(buf, sizeof buf - parser.get().body().size);
      if (ec && ec != http::error::need_buffer) break;
    }
    return out;
  }

  // Takes a pooled connection (or nullptr: open a new one). Waits while max_connections are busy.
  Result<std::unique_ptr<Connection>> acquire() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, config_.timeout, [&] { return in_use_ < options_.max_connections; }))
      return Err(Status::Timeout("all " + std::to_string(options_.max_connections) + " connections are busy"));
    ++in_use_;
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->idle_usable()) {
        c->reused = true;
        return c;
      }
    }
    return std::unique_ptr<Connection>();
  }

  void release(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    --in_use_;
    if (c && idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(c));
    cv_.notify_one();
  }

  Attempt once(const http::request<http::string_body>& req) {
    Attempt a;
    auto got = acquire();
    if (!got) {
      a.error = got.error();
      return a;
    }
    std::unique_ptr<Connection> conn = std::move(*got);
    if (!conn) {
      conn = std::make_unique<Connection>();
      if (auto ec = conn->open(ep_, tls_options(), config_.timeout)) {
        a.error = TransportStatus(ec, "cannot connect to", ep_);
        release(nullptr);
        return a;
      }
      opened_.fetch_add(1);
    }
    beast::error_code ec;
    std::size_t written = 0;
    conn->tcp().expires_after(config_.timeout);
    conn->run([&](auto& s) {
      http::async_write(s, req, [&](beast::error_code e, std::size_t n) {
        ec = e;
        written = n;
      });
    });
    a.sent = written > 0 || !ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    parser.header_limit(kMaxHeader);
    if (!ec)
      conn->run([&](auto& s) {
        http::async_read(s, conn->buffer(), parser, [&](beast::error_code e, std::size_t) { ec = e; });
      });
    if (ec) {
      a.error = TransportStatus(ec, conn->reused ? "request on a kept-alive connection to" : "request to", ep_);
      conn->close();
      release(nullptr);
      return a;
    }
    auto& res = parser.get();
    Response r;
    r.status = res.result_int();
    for (const auto& f : res) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.body = std::move(res.body());
    bool keep = res.keep_alive();
    if (!keep) conn->close();
    release(keep ? std::move(conn) : nullptr);
    a.response = std::move(r);
    return a;
  }

  const RestConfig config_;
  RestClientOptions options_;
  const Endpoint ep_;
  const std::unique_ptr<ssl::context> tls_;
  const std::string token_;
  std::atomic<std::size_t> opened_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  std::size_t in_use_ = 0;                         // GUARDED_BY(mu_)
};

Result<std::unique_ptr<ssl::context>> MakeTlsContext(const RestConfig& c) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  auto fail = [](std::string what, const boost::system::error_code& e) {
    return Err(Status::BadRequest(what + ": " + e.message()));
  };
  if (!c.ca_data.empty()) {
    ctx->add_certificate_authority(asio::buffer(c.ca_data), ec);
    if (ec) return fail("certificate-authority-data is not a PEM certificate", ec);
  } else if (!c.ca_file.empty()) {
    auto pem = ReadWholeFile(c.ca_file, "certificate authority");
    if (!pem) return Err(pem.error());
    ctx->add_certificate_authority(asio::buffer(*pem), ec);
    if (ec) return fail("certificate authority " + c.ca_file + " is not a PEM certificate", ec);
  } else {
    ctx->set_default_verify_paths(ec);
    if (ec) return fail("cannot load the system CA bundle", ec);
  }
  std::string cert = c.cert_data, key = c.key_data;
  if (cert.empty() && !c.cert_file.empty()) {
    auto r = ReadWholeFile(c.cert_file, "client certificate");
    if (!r) return Err(r.error());
    cert = std::move(*r);
  }
  if (key.empty() && !c.key_file.empty()) {
    auto r = ReadWholeFile(c.key_file, "client key");
    if (!r) return Err(r.error());
    key = std::move(*r);
  }
  if (cert.empty() != key.empty())
    return Err(Status::BadRequest("a client certificate needs both a certificate and a key"));
  if (!cert.empty()) {
    ctx->use_certificate_chain(asio::buffer(cert), ec);
    if (ec) return fail("client certificate is not a PEM certificate", ec);
    ctx->use_private_key(asio::buffer(key), ssl::context::pem, ec);
    if (ec) return fail("client key is not a PEM key matching the certificate", ec);
  }
  return ctx;
}

}  // namespace

Result<std::unique_ptr<RestClient>> RestClient::Create(RestConfig config, RestClientOptions options) {
  auto ep = ParseServer(config.server);
  if (!ep) return Err(ep.error());
  std::unique_ptr<ssl::context> tls;
  if (ep->tls) {
    auto ctx = MakeTlsContext(config);
    if (!ctx) return Err(ctx.error());
    tls = std::move(*ctx);
  }
  std::string token = config.token;
  if (token.empty() && !config.token_file.empty()) {
    auto t = ReadWholeFile(config.token_file, "token file");
    if (!t) return Err(t.error());
    token = std::move(*t);
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  }
  if (options.retry.max_attempts < 1) options.retry.max_attempts = 1;
  if (options.max_connections < 1) options.max_connections = 1;
  return std::unique_ptr<RestClient>(std::make_unique<RestClientImpl>(
      std::move(config), std::move(options), std::move(*ep), std::move(tls), std::move(token)));
}

}  // namespace setpoint::client
