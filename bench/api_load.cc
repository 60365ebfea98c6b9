// api_load: durable create (and update) load against any Kubernetes-style API server.
//
//   api_load --server http://127.0.0.1:7080 [--connections 64] [--seconds 10] [--bytes 1024]
//            [--path /apis/example.com/v1/namespaces/default/widgets] [--kind Widget]
//            [--api-version example.com/v1] [--update] [--rate OPS_PER_SECOND] [--count N] [--threads 1]
//   api_load --etcd --server http://127.0.0.1:2379 [--prefix /bench/] [same load options]
//
// Each connection is one keep-alive HTTP/1.1 socket that POSTs objects of about --bytes of JSON
// with unique names (and, with --update, then PUTs each once more with its resourceVersion).
// Only 201/200 answers count as acknowledged. With --etcd the same load goes to etcd's v3 JSON
// gateway as `POST /v3/kv/put` of a value of --bytes (an update is a second put of the key): the
// raw key-value cost with no API semantics. --rate paces the requests (all connections together)
// instead of running flat out. Prints requests/s and latency percentiles p50/p90/p99/p999, and a
// `RESULT key=value ...` line for scripts. Plain POSIX sockets so it can be pointed at any server;
// all connections run on --threads epoll loops (one by default), so the driver takes little of
// the CPU it shares with the server under test.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "setpoint/common/base64.h"

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 7080;
  int connections = 64;
  int seconds = 10;
  std::size_t bytes = 1024;
  std::string path = "/apis/example.com/v1/namespaces/default/widgets";
  std::string kind = "Widget";
  std::string api_version = "example.com/v1";
  bool update = false;
  bool etcd = false;
  std::string prefix = "/bench/";
  double rate = 0;  // requests per second over all connections; 0: as fast as possible
  long count = 0;   // stop after this many creates in all (0: run for --seconds)
  int threads = 1;  // event loops the connections are spread over
};

std::string EtcdPut(const Options& o, const std::string& key, const std::string& value) {
  const std::string json = "{\"key\":\"" + setpoint::Base64Encode(o.prefix + key) + "\",\"value\":\"" +
                           setpoint::Base64Encode(value) + "\"}";
  return "POST /v3/kv/put HTTP/1.1\r\nHost: " + o.host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
}

int Connect(const Options& o) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Where one HTTP/1.1 response in `buf` ends (Content-Length framing), or 0 when incomplete; the
// status code goes to `status`. -1: a response this driver cannot frame.
long ResponseEnd(const std::string& buf, int& status) {
  const std::size_t header_end = buf.find("\r\n\r\n");
  if (header_end == std::string::npos) return 0;
  auto cl = buf.find("Content-Length: ");
  if (cl == std::string::npos) cl = buf.find("content-length: ");
  if (cl == std::string::npos || cl > header_end) return -1;
  const std::size_t total = header_end + 4 + std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
  if (buf.size() < total) return 0;
  status = std::atoi(buf.c_str() + 9);
  return static_cast<long>(total);
}

std::string Post(const Options& o, const std::string& json) {
  return "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
}

std::string Put(const Options& o, const std::string& name, const std::string& json) {
  return "PUT " + o.path + "/" + name + " HTTP/1.1\r\nHost: " + o.host +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(json.size()) + "\r\n\r\n" + json;
}

std::string Object(const Options& o, const std::string& name, const std::string& rv, const std::string& pad) {
  std::string meta = "{\"name\":\"" + name + "\"" + (rv.empty() ? "" : ",\"resourceVersion\":\"" + rv + "\"") + "}";
  return "{\"apiVersion\":\"" + o.api_version + "\",\"kind\":\"" + o.kind + "\",\"metadata\":" + meta +
         ",\"spec\":{\"size\":3,\"color\":\"red\"},\"data\":{\"pad\":\"" + pad + "\"}}";
}

// State shared by the event loops.
struct Shared {
  const Options& o;
  const std::string& pad;
  const std::string& run_id;
  SteadyClock::time_point start;
  SteadyClock::duration interval{};
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::atomic<long> issued{0};  // creates started, for --count
};

// One keep-alive connection with at most one request in flight.
struct Conn {
  int index = 0;
  int fd = -1;
  long seq = 0;           // creates this connection has issued
  bool updating = false;  // the request in flight is the update of `name`
  bool in_flight = false;
  bool done = false;
  std::string name, buf;
  SteadyClock::time_point sent_at, slot;
};

void Send(int fd, const std::string& request, bool& ok) {
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ok = false;
      return;
    }
    sent += static_cast<std::size_t>(n);
  }
}

// Runs `conns` on one epoll until the time or the count is up. The driver costs one thread, not
// one per connection: at 64 connections a thread each took about a third of a 2-core machine
// from the server it was measuring.
void RunLoop(Shared& sh, std::vector<Conn>& conns, std::vector<double>& lat) {
  const Options& o = sh.o;
  int ep = epoll_create1(0);
  std::size_t live = 0;
  for (std::size_t i = 0; i < conns.size(); ++i) {
    Conn& c = conns[i];
    c.fd = Connect(o);
    if (c.fd < 0) {
      ++sh.errors;
      c.done = true;
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    ++live;
  }
  auto finish = [&](Conn& c) {
    if (c.done) return;
    c.done = true;
    close(c.fd);
    --live;
  };
  // Sends the connection's next request if its slot has come; false if it must wait.
  auto next = [&](Conn& c, const std::string& rv) {
    if (sh.interval.count() > 0 && SteadyClock::now() < c.slot) return false;
    if (sh.interval.count() > 0) c.slot += sh.interval;
    std::string request;
    if (o.update && c.updating) {
      request = o.etcd ? EtcdPut(o, c.name, sh.pad + "y") : Put(o, c.name, Object(o, c.name, rv, sh.pad + "y"));
    } else {
      if (sh.stop || (o.count > 0 && sh.issued.fetch_add(1) >= o.count)) {
        finish(c);
        return true;
      }
      char name[64];
      std::snprintf(name, sizeof name, "load-%s-%03d-%07ld", sh.run_id.c_str(), c.index, c.seq++);
      c.name = name;
      request = o.etcd ? EtcdPut(o, c.name, sh.pad) : Post(o, Object(o, c.name, "", sh.pad));
    }
    bool ok = true;
    c.sent_at = SteadyClock::now();
    Send(c.fd, request, ok);
    if (!ok) {
      ++sh.errors;
      finish(c);
      return true;
    }
    c.in_flight = true;
    return true;
  };
  std::vector<std::size_t> waiting;  // connections whose next request waits for its slot
  std::vector<std::pair<std::size_t, std::string>> due;
  for (std::size_t i = 0; i < conns.size(); ++i)
    if (!conns[i].done && !next(conns[i], "")) waiting.push_back(i);
  std::vector<epoll_event> events(conns.size() + 1);
  char chunk[65536];
  std::optional<SteadyClock::time_point> drain_until;
  while (live > 0) {
    if (sh.stop && !drain_until) drain_until = SteadyClock::now() + std::chrono::seconds(5);
    if (drain_until && SteadyClock::now() > *drain_until) break;  // answers that never came
    // Sleep until the earliest paced slot, to the microsecond: a millisecond timeout would
    // either spin (rounded down) or send late (rounded up).
    std::chrono::nanoseconds wait = std::chrono::milliseconds(100);
    if (!waiting.empty()) {
      auto earliest = conns[waiting.front()].slot;
      for (auto i : waiting) earliest = std::min(earliest, conns[i].slot);
      wait = std::clamp<std::chrono::nanoseconds>(earliest - SteadyClock::now(), std::chrono::nanoseconds(0), wait);
    }
    const timespec ts{static_cast<time_t>(wait.count() / 1000000000), static_cast<long>(wait.count() % 1000000000)};
    int n = epoll_pwait2(ep, events.data(), static_cast<int>(events.size()), &ts, nullptr);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[static_cast<std::size_t>(e)].data.u64];
      if (c.done) continue;
      ssize_t got = recv(c.fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) {
        ++sh.errors;
        finish(c);
        continue;
      }
      if (got < 0) continue;
      c.buf.append(chunk, static_cast<std::size_t>(got));
      int status = 0;
      long end = ResponseEnd(c.buf, status);
      if (end == 0) continue;
      if (end < 0 || !c.in_flight) {
        ++sh.errors;
        finish(c);
        continue;
      }
      c.in_flight = false;
      const bool ok = status == (o.etcd ? 200 : (c.updating ? 200 : 201));
      std::string rv;
      if (ok) {
        lat.push_back(std::chrono::duration<double, std::milli>(SteadyClock::now() - c.sent_at).count());
        if (o.update && !c.updating && !o.etcd) {
          auto p = c.buf.find("\"resourceVersion\":\"");
          if (p != std::string::npos && p < static_cast<std::size_t>(end)) {
            p += 19;
            rv = c.buf.substr(p, c.buf.find('"', p) - p);
          }
        }
      } else {
        ++sh.errors;
      }
      c.buf.erase(0, static_cast<std::size_t>(end));
      // After a create comes its update (with --update); after an update, the next create.
      c.updating = o.update && !c.updating && ok && (o.etcd || !rv.empty()) && !sh.stop;
      due.emplace_back(&c - conns.data(), std::move(rv));
    }
    for (auto& [i, rv] : due)
      if (!conns[i].done && !next(conns[i], rv)) waiting.push_back(i);
    due.clear();
    for (auto it = waiting.begin(); it != waiting.end();) {
      Conn& c = conns[*it];
      if (c.done || next(c, ""))
        it = waiting.erase(it);
      else
        ++it;
    }
  }
  for (auto& c : conns)
    if (!c.done) close(c.fd);
  close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--server") {
      std::string s = next();
      if (s.rfind("http://", 0) == 0) s = s.substr(7);
      auto colon = s.rfind(':');
      o.host = s.substr(0, colon);
      o.port = std::atoi(s.c_str() + colon + 1);
    } else if (a == "--connections")
      o.connections = std::atoi(next().c_str());
    else if (a == "--seconds")
      o.seconds = std::atoi(next().c_str());
    else if (a == "--bytes")
      o.bytes = std::strtoul(next().c_str(), nullptr, 10);
    else if (a == "--path")
      o.path = next();
    else if (a == "--kind")
      o.kind = next();
    else if (a == "--api-version")
      o.api_version = next();
    else if (a == "--update")
      o.update = true;
    else if (a == "--etcd")
      o.etcd = true;
    else if (a == "--prefix")
      o.prefix = next();
    else if (a == "--rate")
      o.rate = std::strtod(next().c_str(), nullptr);
    else if (a == "--count")
      o.count = std::atol(next().c_str());
    else if (a == "--threads")
      o.threads = std::atoi(next().c_str());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::size_t overhead = Object(o, "load-000-0000000", "", "").size();
  // A Kubernetes object of about --bytes of JSON; an etcd value of exactly --bytes.
  std::string pad(o.etcd ? o.bytes : (o.bytes > overhead ? o.bytes - overhead : 0), 'x');
  const std::string run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000);
  Shared sh{o, pad, run_id};
  sh.start = SteadyClock::now();
  // Paced: each connection's share of --rate, each request at its slot (not after the last
  // answer), so a slow answer does not lower the offered load.
  sh.interval = o.rate > 0 ? std::chrono::duration_cast<SteadyClock::duration>(
                                 std::chrono::duration<double>(static_cast<double>(o.connections) / o.rate))
                           : SteadyClock::duration::zero();
  const int loops = std::max(1, std::min(o.threads, o.connections));
  std::vector<std::vector<Conn>> conns(static_cast<std::size_t>(loops));
  for (int c = 0; c < o.connections; ++c) {
    Conn conn;
    conn.index = c;
    conn.slot = sh.start + sh.interval * c / std::max(1, o.connections);
    conns[static_cast<std::size_t>(c % loops)].push_back(std::move(conn));
  }
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(loops));
  std::vector<std::thread> threads;
  for (int l = 0; l < loops; ++l)
    threads.emplace_back(
        [&, l] { RunLoop(sh, conns[static_cast<std::size_t>(l)], latencies[static_cast<std::size_t>(l)]); });
  if (o.count == 0) {
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));  // the measurement window itself
    sh.stop = true;
  }
  for (auto& t : threads) t.join();
  const long errors = sh.errors;
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - sh.start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
  };
  std::printf("connections=%d bytes=%zu %s: %zu acknowledged in %.1fs = %.0f req/s, errors=%ld\n", o.connections,
              o.bytes, o.update ? "create+update" : "create", all.size(), elapsed,
              static_cast<double>(all.size()) / elapsed, errors);
  std::printf("latency ms: p50=%.2f p90=%.2f p99=%.2f p999=%.2f max=%.2f\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999),
              all.empty() ? 0.0 : all.back());
  std::printf(
      "RESULT target=%s op=%s connections=%d bytes=%zu rate=%.0f ops_per_s=%.1f p50_ms=%.3f p90_ms=%.3f "
      "p99_ms=%.3f p999_ms=%.3f errors=%ld\n",
      o.etcd ? "etcd" : "setpoint", o.update ? "create+update" : "create", o.connections, o.bytes, o.rate,
      static_cast<double>(all.size()) / elapsed, pct(0.5), pct(0.9), pct(0.99), pct(0.999), errors);
  return errors > 0 && all.empty() ? 1 : 0;
}
