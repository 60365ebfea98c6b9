// watch_fanout: how fast, and how completely, one stream of writes reaches N watchers.
//
//   watch_fanout --server http://127.0.0.1:7080 --mode k8s|etcd [--watchers 100] [--rate 1000]
//                [--seconds 5] [--value-bytes 1024] [--writers 4] [--io-threads 1] [--drain-seconds 5]
//                k8s:  [--path /apis/bench.setpoint.dev/v1/namespaces/default/loads] [--kind Load]
//                      [--api-version bench.setpoint.dev/v1]
//                etcd: [--prefix /bench/]
//
// Opens N watch streams (each its own HTTP/1.1 connection, all on --io-threads Asio threads):
//   k8s:  GET <path>?watch=1&resourceVersion=<rv of a list>&allowWatchBookmarks=false
//   etcd: POST /v3/watch {"create_request":{"key":b64(prefix),"range_end":b64(prefix+1)}} (3.4 gateway)
// and reads their newline-delimited JSON events. Once every stream is open (k8s: 200 headers;
// etcd: the "created" message), --writers keep-alive connections on a thread of their own issue
// --rate writes per second for --seconds, each at its own slot on the steady clock (start +
// seq/rate; a write whose slot has passed goes out as soon as a connection is free; writes not
// sent within --seconds are skipped and counted, so an overloaded server does not stretch the run):
//   k8s:  POST <path> creating "w<run>-<seq>" with an object of about --value-bytes of JSON
//   etcd: POST /v3/kv/put of <prefix><run>-<seq> with a value of --value-bytes bytes
// The acknowledgement time of each write is the time its 2xx response was read. A watcher's
// delivery time for an event is the time the read that completed its line returned. Latency =
// delivery - acknowledgement (0 when the event came first: counted and shown as "before ack").
// Per write: latency to the first, the median and the last watcher; printed as p50/p90/p99/max
// over all acknowledged writes. After the last write the watchers get up to --drain-seconds to
// catch up; lost = writes acknowledged x watchers - distinct events received.
//
// Delivery times are taken by the client, so with many watchers on one client thread they include
// the client's own queueing; the client shares the machine with the server.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "setpoint/common/base64.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
constexpr auto kTok = asio::as_tuple(asio::use_awaitable);

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "7080";
  std::string mode = "k8s";
  int watchers = 1;
  int rate = 1000;
  int seconds = 5;
  std::size_t value_bytes = 1024;
  std::string path = "/apis/bench.setpoint.dev/v1/namespaces/default/loads";
  std::string kind = "Load";
  std::string api_version = "bench.setpoint.dev/v1";
  std::string prefix = "/bench/";
  int writers = 4;
  int io_threads = 1;
  double drain_seconds = 5;
};

const SteadyClock::time_point kOrigin = SteadyClock::now();

// Microseconds since kOrigin, plus one, so that 0 can mean "never".
std::uint32_t NowStamp() {
  return static_cast<std::uint32_t>(
             std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - kOrigin).count()) +
         1;
}

// Decodes standard base64 up to the first character outside the alphabet ('"', '=').
std::string Unbase64(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) break;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// Parses a non-negative decimal at the start of s; -1 if none.
std::int64_t ParseSeq(std::string_view s) {
  std::int64_t v = 0;
  std::size_t i = 0;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) v = v * 10 + (s[i] - '0');
  return i == 0 ? -1 : v;
}

// Per client thread counters (one writer each, read by main for progress).
struct alignas(64) ThreadCounters {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> unknown_seq{0};
};

struct Shared {
  Options o;
  bool etcd = false;
  tcp::resolver::results_type endpoints;
  std::string run;            // distinguishes this run's objects from earlier ones
  std::string name_prefix;    // k8s: w<run>-   etcd: <prefix><run>-
  std::string name_needle;    // k8s: "name":"w<run>-
  std::string watch_request;  // serialized once, sent by every watcher
  std::int64_t total_writes = 0;
  std::size_t n = 0;  // watchers

  // deliver[seq * n + w]: NowStamp() of the first delivery of write seq to watcher w, 0 if none.
  std::vector<std::uint32_t> deliver;
  std::vector<std::int64_t> sent_us, ack_us, due_us;  // -1 until set; written by the writer thread only

  std::vector<std::unique_ptr<ThreadCounters>> counters;
  std::atomic<int> ready{0}, failed{0}, ended{0}, watch_errors{0};
  std::atomic<bool> stopping{false};

  // writer thread only
  std::int64_t next_seq = 0;
  SteadyClock::time_point write_start, write_deadline;
  std::int64_t write_failures = 0;
  bool printed_write_error = false;
  std::string k8s_pad, etcd_value_b64;
};

std::int64_t Us(SteadyClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t - kOrigin).count() + 1;
}

// ---- watchers --------------------------------------------------------------------------------

struct Watcher {
  Shared& s;
  std::size_t w;
  ThreadCounters& c;
  bool created = false;  // etcd: saw the "created" message
  bool printed_error = false;

  void record(std::int64_t seq, std::uint32_t now) {
    if (seq < 0 || seq >= s.total_writes) {
      c.unknown_seq.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto& slot = s.deliver[static_cast<std::size_t>(seq) * s.n + w];
    if (slot != 0) {
      c.duplicates.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    slot = now;
    c.received.fetch_add(1, std::memory_order_relaxed);
  }

  void error_line(std::string_view line) {
    s.watch_errors.fetch_add(1);
    if (!printed_error) {
      printed_error = true;
      std::fprintf(stderr, "watcher %zu: %.*s\n", w, static_cast<int>(std::min<std::size_t>(line.size(), 400)),
                   line.data());
    }
  }

  void line_k8s(std::string_view line, std::uint32_t now) {
    auto p = line.find(s.name_needle);
    if (p != std::string_view::npos) {
      record(ParseSeq(line.substr(p + s.name_needle.size())), now);
    } else if (line.find("\"type\":\"ERROR\"") != std::string_view::npos) {
      error_line(line);
    }
  }

  void line_etcd(std::string_view line, std::uint32_t now) {
    static constexpr std::string_view kKey = "\"key\":\"";
    bool any = false;
    for (auto p = line.find(kKey); p != std::string_view::npos; p = line.find(kKey, p)) {
      p += kKey.size();
      auto end = line.find('"', p);
      if (end == std::string_view::npos) break;
      any = true;
      std::string key = Unbase64(line.substr(p, end - p));
      if (key.compare(0, s.name_prefix.size(), s.name_prefix) == 0) {
        record(ParseSeq(std::string_view(key).substr(s.name_prefix.size())), now);
      }
      p = end;
    }
    if (any) return;
    if (!created && line.find("\"created\":true") != std::string_view::npos) {
      created = true;
      s.ready.fetch_add(1);
    }
    if (line.find("\"canceled\":true") != std::string_view::npos || line.rfind("{\"error\"", 0) == 0) {
      error_line(line);
    }
  }

  void line(std::string_view l, std::uint32_t now) { s.etcd ? line_etcd(l, now) : line_k8s(l, now); }

  asio::awaitable<void> run() {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket sock(ex);
    auto fail = [&](const char* what, const std::string& detail) {
      if (s.failed.fetch_add(1) < 3) std::fprintf(stderr, "watcher %zu: %s %s\n", w, what, detail.c_str());
    };
    if (auto [ec, ep] = co_await asio::async_connect(sock, s.endpoints, kTok); ec) {
      fail("connect:", ec.message());
      co_return;
    }
    sock.set_option(tcp::no_delay(true));
    if (auto [ec, n] = co_await asio::async_write(sock, asio::buffer(s.watch_request), kTok); ec) {
      fail("send:", ec.message());
      co_return;
    }
    beast::flat_buffer buf;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (auto [ec, n] = co_await http::async_read_header(sock, buf, parser, kTok); ec) {
      fail("response:", ec.message());
      co_return;
    }
    if (parser.get().result_int() != 200) {
      fail("status", std::to_string(parser.get().result_int()));
      co_return;
    }
    if (!s.etcd) s.ready.fetch_add(1);
    std::vector<char> chunk(64 * 1024);
    std::string carry;  // an incomplete line from the previous read
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      auto [ec, n] = co_await http::async_read_some(sock, buf, parser, kTok);
      if (ec == http::error::need_buffer) ec = {};
      std::size_t got = chunk.size() - parser.get().body().size;
      if (got > 0) {
        std::uint32_t now = NowStamp();
        const char* b = chunk.data();
        const char* e = b + got;
        while (b < e) {
          auto* nl = static_cast<const char*>(std::memchr(b, '\n', static_cast<std::size_t>(e - b)));
          if (nl == nullptr) {
            carry.append(b, e);
            break;
          }
          if (carry.empty()) {
            line(std::string_view(b, static_cast<std::size_t>(nl - b)), now);
          } else {
            carry.append(b, nl);
            line(carry, now);
            carry.clear();
          }
          b = nl + 1;
        }
      }
      if (ec) break;
    }
    // A stream that ends before the run is over loses whatever comes after; it is not reopened.
    if (s.stopping) co_return;
    s.ended.fetch_add(1);
    if (s.etcd && !created) fail("stream ended before the watch was created", "");
  }
};

// ---- writer ----------------------------------------------------------------------------------

std::string WriteRequest(Shared& s, std::int64_t seq) {
  std::string body, target;
  const auto& o = s.o;
  if (s.etcd) {
    target = "/v3/kv/put";
    body = "{\"key\":\"" + setpoint::Base64Encode(s.name_prefix + std::to_string(seq)) + "\",\"value\":\"" +
           s.etcd_value_b64 + "\"}";
  } else {
    target = o.path;
    body = "{\"apiVersion\":\"" + o.api_version + "\",\"kind\":\"" + o.kind + "\",\"metadata\":{\"name\":\"" +
           s.name_prefix + std::to_string(seq) + "\"},\"data\":{\"pad\":\"" + s.k8s_pad + "\"}}";
  }
  return "POST " + target + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

asio::awaitable<void> RunWriter(Shared& s, int c) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket sock(ex);
  if (auto [ec, ep] = co_await asio::async_connect(sock, s.endpoints, kTok); ec) {
    std::fprintf(stderr, "writer %d: connect: %s\n", c, ec.message().c_str());
    co_return;
  }
  sock.set_option(tcp::no_delay(true));
  asio::steady_timer timer(ex);
  beast::flat_buffer buf;
  const double ns_per_write = 1e9 / s.o.rate;
  while (s.next_seq < s.total_writes) {
    std::int64_t seq = s.next_seq++;
    auto due =
        s.write_start + std::chrono::nanoseconds(static_cast<std::int64_t>(static_cast<double>(seq) * ns_per_write));
    s.due_us[seq] = Us(due);
    if (due > SteadyClock::now()) {
      timer.expires_at(due);
      co_await timer.async_wait(kTok);
    }
    // An overloaded server does not stretch the run: what was not sent within --seconds is skipped.
    if (SteadyClock::now() >= s.write_deadline) break;
    std::string req = WriteRequest(s, seq);
    s.sent_us[seq] = Us(SteadyClock::now());
    if (auto [ec, n] = co_await asio::async_write(sock, asio::buffer(req), kTok); ec) {
      std::fprintf(stderr, "writer %d: send: %s\n", c, ec.message().c_str());
      ++s.write_failures;
      co_return;
    }
    http::response<http::string_body> res;
    auto [ec, n] = co_await http::async_read(sock, buf, res, kTok);
    auto acked = SteadyClock::now();
    if (ec) {
      std::fprintf(stderr, "writer %d: response: %s\n", c, ec.message().c_str());
      ++s.write_failures;
      co_return;
    }
    if (res.result_int() / 100 != 2) {
      ++s.write_failures;
      if (!s.printed_write_error) {
        s.printed_write_error = true;
        std::fprintf(stderr, "write %lld: HTTP %u %s\n", static_cast<long long>(seq), res.result_int(),
                     res.body().substr(0, 400).c_str());
      }
      continue;
    }
    s.ack_us[seq] = Us(acked);
    if (!res.keep_alive()) {
      std::fprintf(stderr, "writer %d: server closed the connection\n", c);
      co_return;
    }
  }
}

// ---- setup helpers ---------------------------------------------------------------------------

// One blocking request on a fresh connection (used for the initial list).
http::response<http::string_body> Fetch(Shared& s, http::verb verb, const std::string& target) {
  asio::io_context io;
  tcp::socket sock(io);
  asio::connect(sock, s.endpoints);
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, s.o.host + ":" + s.o.port);
  req.set(http::field::accept, "application/json");
  http::write(sock, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  http::read(sock, buf, parser);
  return parser.release();
}

double Pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

void RaiseFdLimit(std::size_t want) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    std::fprintf(stderr, "warning: fd limit %llu is below the %zu sockets needed\n",
                 static_cast<unsigned long long>(rl.rlim_cur), want);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Shared s;
  Options& o = s.o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--server") {
      std::string v = next();
      if (v.rfind("http://", 0) == 0) v = v.substr(7);
      if (auto slash = v.find('/'); slash != std::string::npos) v = v.substr(0, slash);
      auto colon = v.rfind(':');
      o.host = v.substr(0, colon);
      o.port = colon == std::string::npos ? "80" : v.substr(colon + 1);
    } else if (a == "--mode")
      o.mode = next();
    else if (a == "--watchers")
      o.watchers = std::atoi(next().c_str());
    else if (a == "--rate")
      o.rate = std::atoi(next().c_str());
    else if (a == "--seconds")
      o.seconds = std::atoi(next().c_str());
    else if (a == "--value-bytes")
      o.value_bytes = std::strtoul(next().c_str(), nullptr, 10);
    else if (a == "--path")
      o.path = next();
    else if (a == "--kind")
      o.kind = next();
    else if (a == "--api-version")
      o.api_version = next();
    else if (a == "--prefix")
      o.prefix = next();
    else if (a == "--writers")
      o.writers = std::atoi(next().c_str());
    else if (a == "--io-threads")
      o.io_threads = std::atoi(next().c_str());
    else if (a == "--drain-seconds")
      o.drain_seconds = std::atof(next().c_str());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if ((o.mode != "k8s" && o.mode != "etcd") || o.watchers < 1 || o.rate < 1 || o.seconds < 1 || o.writers < 1 ||
      o.io_threads < 1 || o.prefix.empty()) {
    std::fprintf(stderr, "bad arguments (--mode k8s|etcd, positive --watchers/--rate/--seconds/--writers)\n");
    return 2;
  }
  s.etcd = o.mode == "etcd";
  s.n = static_cast<std::size_t>(o.watchers);
  s.total_writes = static_cast<std::int64_t>(o.rate) * o.seconds;
  RaiseFdLimit(s.n + static_cast<std::size_t>(o.writers) + 32);

  s.run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() / 1000 % 1000000);
  if (s.etcd) {
    s.name_prefix = o.prefix + s.run + "-";
    s.etcd_value_b64 = setpoint::Base64Encode(std::string(o.value_bytes, 'x'));
  } else {
    s.name_prefix = "w" + s.run + "-";
    s.name_needle = "\"name\":\"" + s.name_prefix;
    // Pad so that the object we send is about --value-bytes of JSON, as api_load does.
    std::string shell = "{\"apiVersion\":\"" + o.api_version + "\",\"kind\":\"" + o.kind +
                        "\",\"metadata\":{\"name\":\"" + s.name_prefix + "0000000\"},\"data\":{\"pad\":\"\"}}";
    s.k8s_pad = std::string(o.value_bytes > shell.size() ? o.value_bytes - shell.size() : 0, 'x');
  }

  try {
    asio::io_context io;
    s.endpoints = tcp::resolver(io).resolve(o.host, o.port);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
    return 1;
  }

  std::string host = o.host + ":" + o.port;
  if (s.etcd) {
    std::string end = o.prefix;
    end.back() = static_cast<char>(end.back() + 1);  // the prefix's range end (prefixes end in a printable byte)
    std::string body = "{\"create_request\":{\"key\":\"" + setpoint::Base64Encode(o.prefix) + "\",\"range_end\":\"" +
                       setpoint::Base64Encode(end) + "\"}}";
    s.watch_request = "POST /v3/watch HTTP/1.1\r\nHost: " + host +
                      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\n\r\n" + body;
  } else {
    std::string rv;
    try {
      auto res = Fetch(s, http::verb::get, o.path + "?limit=1");
      if (res.result_int() != 200) {
        std::fprintf(stderr, "list %s: HTTP %u %s\n", o.path.c_str(), res.result_int(),
                     res.body().substr(0, 400).c_str());
        return 1;
      }
      // The list's own resourceVersion: in its metadata, which comes before "items" (or after it).
      std::string_view body = res.body();
      static constexpr std::string_view kRv = "\"resourceVersion\":\"";
      auto items = body.find("\"items\":");
      auto p = body.substr(0, items).find(kRv);
      if (p == std::string_view::npos) p = body.rfind(kRv);
      if (p == std::string_view::npos) {
        std::fprintf(stderr, "list %s: no resourceVersion in the answer\n", o.path.c_str());
        return 1;
      }
      p += kRv.size();
      rv = std::string(body.substr(p, body.find('"', p) - p));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "list %s: %s\n", o.path.c_str(), e.what());
      return 1;
    }
    s.watch_request = "GET " + o.path + "?watch=1&resourceVersion=" + rv +
                      "&allowWatchBookmarks=false HTTP/1.1\r\nHost: " + host + "\r\nAccept: application/json\r\n\r\n";
  }

  s.deliver.assign(static_cast<std::size_t>(s.total_writes) * s.n, 0);
  s.sent_us.assign(static_cast<std::size_t>(s.total_writes), -1);
  s.ack_us.assign(static_cast<std::size_t>(s.total_writes), -1);
  s.due_us.assign(static_cast<std::size_t>(s.total_writes), -1);

  // Watcher threads: one io_context each, watchers dealt out round-robin.
  std::vector<std::unique_ptr<Watcher>> watchers;  // outlives the io_contexts that hold their coroutines
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::thread> threads;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (int t = 0; t < o.io_threads; ++t) {
    ios.push_back(std::make_unique<asio::io_context>(1));
    s.counters.push_back(std::make_unique<ThreadCounters>());
    guards.push_back(asio::make_work_guard(*ios.back()));
  }
  for (auto& io : ios) threads.emplace_back([&io] { io->run(); });

  auto open_start = SteadyClock::now();
  constexpr int kOpening = 64;  // streams being opened at once
  for (std::size_t w = 0; w < s.n; ++w) {
    while (static_cast<int>(w) - s.ready - s.failed >= kOpening)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::size_t t = w % ios.size();
    watchers.push_back(std::make_unique<Watcher>(Watcher{s, w, *s.counters[t]}));
    asio::co_spawn(*ios[t], watchers.back()->run(), asio::detached);
  }
  while (s.ready + s.failed < o.watchers && SteadyClock::now() - open_start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  double open_seconds = std::chrono::duration<double>(SteadyClock::now() - open_start).count();
  int exit_code = 0;
  std::int64_t acked = 0;
  SteadyClock::time_point writes_end;
  if (s.ready != o.watchers) {
    std::fprintf(stderr, "only %d of %d watches opened (%d failed)\n", s.ready.load(), o.watchers, s.failed.load());
    exit_code = 1;
  } else {
    // Writers: one thread of their own so that pacing does not wait on watcher parsing.
    asio::io_context wio(1);
    s.write_start = SteadyClock::now() + std::chrono::milliseconds(20);
    s.write_deadline = s.write_start + std::chrono::seconds(o.seconds);
    for (int c = 0; c < o.writers; ++c) asio::co_spawn(wio, RunWriter(s, c), asio::detached);
    std::thread writer([&wio] { wio.run(); });
    writer.join();
    writes_end = SteadyClock::now();
    for (auto a : s.ack_us) acked += a >= 0;

    // Drain: wait for every watcher to have every acknowledged write, for up to --drain-seconds.
    auto expected = static_cast<std::uint64_t>(acked) * s.n;
    auto received = [&] {
      std::uint64_t r = 0;
      for (auto& c : s.counters) r += c->received.load(std::memory_order_relaxed);
      return r;
    };
    auto drain_deadline = writes_end + std::chrono::milliseconds(static_cast<long>(o.drain_seconds * 1000));
    while (received() < expected && SteadyClock::now() < drain_deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  auto drained = SteadyClock::now();
  s.stopping = true;
  guards.clear();
  for (auto& io : ios) io->stop();
  for (auto& t : threads) t.join();
  if (exit_code != 0) return exit_code;

  // ---- results ---------------------------------------------------------------------------------
  std::vector<double> first, median, last, ack_lat, send_lag;
  std::vector<double> lat;
  std::uint64_t received = 0, early = 0, orphan = 0;
  std::int64_t last_ack = -1, unsent = 0;
  for (std::int64_t seq = 0; seq < s.total_writes; ++seq) {
    const std::uint32_t* row = &s.deliver[static_cast<std::size_t>(seq) * s.n];
    std::int64_t ack = s.ack_us[seq];
    unsent += s.sent_us[seq] < 0;
    if (ack < 0) {
      for (std::size_t w = 0; w < s.n; ++w) orphan += row[w] != 0;
      continue;
    }
    last_ack = std::max(last_ack, ack);
    ack_lat.push_back(static_cast<double>(ack - s.sent_us[seq]) / 1000.0);
    send_lag.push_back(static_cast<double>(s.sent_us[seq] - s.due_us[seq]) / 1000.0);
    lat.clear();
    for (std::size_t w = 0; w < s.n; ++w) {
      if (row[w] == 0) continue;
      std::int64_t d = static_cast<std::int64_t>(row[w]) - ack;
      if (d < 0) {
        ++early;
        d = 0;
      }
      lat.push_back(static_cast<double>(d) / 1000.0);
    }
    received += lat.size();
    if (lat.empty()) continue;
    auto mid = lat.begin() + static_cast<std::ptrdiff_t>(lat.size() / 2);
    std::nth_element(lat.begin(), mid, lat.end());
    median.push_back(*mid);
    first.push_back(*std::min_element(lat.begin(), lat.end()));
    last.push_back(*std::max_element(lat.begin(), lat.end()));
  }
  for (auto* v : {&first, &median, &last, &ack_lat, &send_lag}) std::sort(v->begin(), v->end());
  std::uint64_t expected = static_cast<std::uint64_t>(acked) * s.n;
  std::uint64_t dups = 0, unknown = 0;
  for (auto& c : s.counters) {
    dups += c->duplicates;
    unknown += c->unknown_seq;
  }
  double write_secs = static_cast<double>(last_ack - Us(s.write_start)) / 1e6;
  double drain_secs = std::chrono::duration<double>(drained - writes_end).count();

  std::printf("mode=%s watchers=%d rate=%d/s seconds=%d value-bytes=%zu writers=%d io-threads=%d\n", o.mode.c_str(),
              o.watchers, o.rate, o.seconds, o.value_bytes, o.writers, o.io_threads);
  std::printf(
      "writes: %lld acknowledged of %lld scheduled (%lld failed, %lld not sent in time), %.0f writes/s "
      "achieved over %.2fs\n",
      static_cast<long long>(acked), static_cast<long long>(s.total_writes), static_cast<long long>(s.write_failures),
      static_cast<long long>(unsent), write_secs > 0 ? static_cast<double>(acked) / write_secs : 0.0, write_secs);
  std::printf("write ack ms: p50=%.2f p99=%.2f max=%.2f; sent behind schedule ms: p50=%.2f p99=%.2f max=%.2f\n",
              Pct(ack_lat, 0.5), Pct(ack_lat, 0.99), ack_lat.empty() ? 0.0 : ack_lat.back(), Pct(send_lag, 0.5),
              Pct(send_lag, 0.99), send_lag.empty() ? 0.0 : send_lag.back());
  std::printf(
      "events: expected %llu, delivered %llu, lost %llu (not delivered %.2fs after the last write), "
      "duplicates %llu, before ack %llu (counted as 0 ms)\n",
      static_cast<unsigned long long>(expected), static_cast<unsigned long long>(received),
      static_cast<unsigned long long>(expected - std::min(expected, received)), drain_secs,
      static_cast<unsigned long long>(dups), static_cast<unsigned long long>(early));
  std::printf("streams: opened in %.2fs, ended early %d, error events %d", open_seconds, s.ended.load(),
              s.watch_errors.load());
  if (orphan + unknown > 0) {
    std::printf(", events of unacknowledged writes %llu, unknown sequence %llu",
                static_cast<unsigned long long>(orphan), static_cast<unsigned long long>(unknown));
  }
  std::printf("\n");
  std::printf("latency ms (ack -> delivery)   p50      p90      p99      max\n");
  for (auto [label, v] : {std::pair{"first watcher ", &first}, std::pair{"median watcher", &median},
                          std::pair{"last watcher  ", &last}}) {
    std::printf("  %s            %8.2f %8.2f %8.2f %8.2f\n", label, Pct(*v, 0.5), Pct(*v, 0.9), Pct(*v, 0.99),
                v->empty() ? 0.0 : v->back());
  }
  // One line for scripts (bench/run.py): key=value, numbers only.
  std::printf(
      "RESULT mode=%s watchers=%d rate=%d writes_per_s=%.1f first_p99_ms=%.3f median_p99_ms=%.3f "
      "last_p50_ms=%.3f last_p99_ms=%.3f lost=%llu ended_early=%d\n",
      o.mode.c_str(), o.watchers, o.rate, write_secs > 0 ? static_cast<double>(acked) / write_secs : 0.0,
      Pct(first, 0.99), Pct(median, 0.99), Pct(last, 0.5), Pct(last, 0.99),
      static_cast<unsigned long long>(expected - std::min(expected, received)), s.ended.load());
  return expected > 0 && received == 0 ? 1 : 0;
}
