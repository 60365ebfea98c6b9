// api_load: durable create (and update) load against any Kubernetes-style API server.
//
//   api_load --server http://127.0.0.1:7080 [--connections 64] [--seconds 10] [--bytes 1024]
//            [--path /apis/example.com/v1/namespaces/default/widgets] [--kind Widget]
//            [--api-version example.com/v1] [--update] [--rate OPS_PER_SECOND] [--count N]
//   api_load --etcd --server http://127.0.0.1:2379 [--prefix /bench/] [same load options]
//
// Each connection is one keep-alive HTTP/1.1 socket that POSTs objects of about --bytes of JSON
// with unique names (and, with --update, then PUTs each once more with its resourceVersion).
// Only 201/200 answers count as acknowledged. With --etcd the same load goes to etcd's v3 JSON
// gateway as `POST /v3/kv/put` of a value of --bytes (an update is a second put of the key): the
// raw key-value cost with no API semantics. --rate paces the requests (all connections together)
// instead of running flat out. Prints requests/s and latency percentiles p50/p90/p99/p999, and a
// `RESULT key=value ...` line for scripts. Plain POSIX sockets so it can be pointed at any server.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
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
};

std::string EtcdPut(const Options& o, const std::string& key, const std::string& value) {
  const std::string json = "{\"key\":\"" + setpoint::Base64Encode(o.prefix + key) + "\",\"value\":\"" + setpoint::Base64Encode(value) + "\"}";
  return "POST /v3/kv/put HTTP/1.1\r\nHost: " + o.host + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(json.size()) + "\r\n\r\n" + json;
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

// Sends one request and reads one response; returns the HTTP status (or -1) and the body.
int Roundtrip(int fd, const std::string& request, std::string& buf, std::string& body) {
  for (std::size_t sent = 0; sent < request.size();) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return -1;
    sent += static_cast<std::size_t>(n);
  }
  buf.clear();
  std::size_t header_end = std::string::npos;
  std::size_t content_length = 0;
  char chunk[65536];
  while (true) {
    if (header_end == std::string::npos) {
      header_end = buf.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        auto cl = buf.find("Content-Length: ");
        if (cl == std::string::npos) cl = buf.find("content-length: ");
        if (cl == std::string::npos || cl > header_end) return -1;
        content_length = std::strtoul(buf.c_str() + cl + 16, nullptr, 10);
      }
    }
    if (header_end != std::string::npos && buf.size() >= header_end + 4 + content_length) break;
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return -1;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
  body = buf.substr(header_end + 4, content_length);
  return std::atoi(buf.c_str() + 9);
}

std::string Post(const Options& o, const std::string& json) {
  return "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + "\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(json.size()) + "\r\n\r\n" + json;
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
    } else if (a == "--connections") o.connections = std::atoi(next().c_str());
    else if (a == "--seconds") o.seconds = std::atoi(next().c_str());
    else if (a == "--bytes") o.bytes = std::strtoul(next().c_str(), nullptr, 10);
    else if (a == "--path") o.path = next();
    else if (a == "--kind") o.kind = next();
    else if (a == "--api-version") o.api_version = next();
    else if (a == "--update") o.update = true;
    else if (a == "--etcd") o.etcd = true;
    else if (a == "--prefix") o.prefix = next();
    else if (a == "--rate") o.rate = std::strtod(next().c_str(), nullptr);
    else if (a == "--count") o.count = std::atol(next().c_str());
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  std::size_t overhead = Object(o, "load-000-0000000", "", "").size();
  // A Kubernetes object of about --bytes of JSON; an etcd value of exactly --bytes.
  std::string pad(o.etcd ? o.bytes : (o.bytes > overhead ? o.bytes - overhead : 0), 'x');
  std::atomic<bool> stop{false};
  std::atomic<long> errors{0};
  std::atomic<long> issued{0};  // creates started, for --count
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000);
  auto start = SteadyClock::now();
  for (int c = 0; c < o.connections; ++c) {
    threads.emplace_back([&, c] {
      int fd = Connect(o);
      if (fd < 0) {
        ++errors;
        return;
      }
      std::string buf, body;
      auto& lat = latencies[static_cast<std::size_t>(c)];
      // Paced: this connection's share of --rate, each request at its slot (not after the last
      // answer), so a slow answer does not lower the offered load.
      const auto interval = o.rate > 0 ? std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>(
                                             static_cast<double>(o.connections) / o.rate))
                                       : SteadyClock::duration::zero();
      auto slot = start + interval * c / std::max(1, o.connections);
      auto pace = [&] {
        if (interval.count() == 0) return;
        slot += interval;
        std::this_thread::sleep_until(slot);
      };
      for (long i = 0; !stop; ++i) {
        char name[64];
        std::snprintf(name, sizeof name, "load-%s-%03d-%07ld", run_id.c_str(), c, i);
        pace();
        if (stop) break;
        if (o.count > 0 && issued.fetch_add(1) >= o.count) break;
        auto t0 = SteadyClock::now();
        const bool etcd = o.etcd;
        int code = Roundtrip(fd, etcd ? EtcdPut(o, name, pad) : Post(o, Object(o, name, "", pad)), buf, body);
        auto t1 = SteadyClock::now();
        if (code != (etcd ? 200 : 201)) {
          ++errors;
          if (code < 0) break;
          continue;
        }
        lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        if (o.update && !stop && etcd) {
          pace();
          auto t2 = SteadyClock::now();
          code = Roundtrip(fd, EtcdPut(o, name, pad + "y"), buf, body);
          auto t3 = SteadyClock::now();
          if (code != 200) {
            ++errors;
            if (code < 0) break;
            continue;
          }
          lat.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
        } else if (o.update && !stop) {
          pace();
          auto p = body.find("\"resourceVersion\":\"");
          if (p == std::string::npos) continue;
          p += 19;
          std::string rv = body.substr(p, body.find('"', p) - p);
          auto t2 = SteadyClock::now();
          code = Roundtrip(fd, Put(o, name, Object(o, name, rv, pad + "y")), buf, body);
          auto t3 = SteadyClock::now();
          if (code != 200) {
            ++errors;
            if (code < 0) break;
            continue;
          }
          lat.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
        }
      }
      close(fd);
    });
  }
  if (o.count > 0) {
    for (auto& t : threads) t.join();  // each thread stops once the count is reached
    threads.clear();
  } else {
    std::this_thread::sleep_for(std::chrono::seconds(o.seconds));  // the measurement window itself
    stop = true;
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]; };
  std::printf("connections=%d bytes=%zu %s: %zu acknowledged in %.1fs = %.0f req/s, errors=%ld\n", o.connections,
              o.bytes, o.update ? "create+update" : "create", all.size(), elapsed,
              static_cast<double>(all.size()) / elapsed, errors.load());
  std::printf("latency ms: p50=%.2f p90=%.2f p99=%.2f p999=%.2f max=%.2f\n", pct(0.5), pct(0.9), pct(0.99), pct(0.999),
              all.empty() ? 0.0 : all.back());
  std::printf("RESULT target=%s op=%s connections=%d bytes=%zu rate=%.0f ops_per_s=%.1f p50_ms=%.3f p90_ms=%.3f "
              "p99_ms=%.3f p999_ms=%.3f errors=%ld\n",
              o.etcd ? "etcd" : "setpoint", o.update ? "create+update" : "create", o.connections, o.bytes, o.rate,
              static_cast<double>(all.size()) / elapsed, pct(0.5), pct(0.9), pct(0.99), pct(0.999), errors.load());
  return errors > 0 && all.empty() ? 1 : 0;
}
