// store_bench: durable create throughput of a Store backend from many threads.
//
//   store_bench [--store sqlite|memory] [--threads 64] [--writes 200000] [--value-bytes 1024]
//               [--path /tmp/store_bench.db] [--watch]
//
// Each thread creates distinct keys with values of --value-bytes; prints writes/s, per-write
// latency percentiles and the backend's commit statistics (average batch, commit latency).
// --watch adds one watcher that counts events, as the apiserver's watch cache would.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/memory/memory_store.h"
#include "store/sqlite/sqlite_store.h"

using namespace setpoint::store;

namespace {

struct CountingSink : WatchSink {
  std::atomic<std::uint64_t> events{0};
  void on_events(std::span<const Event> e) override { events += e.size(); }
  void on_error(const setpoint::Status&) override {}
};

}  // namespace

int main(int argc, char** argv) {
  std::string kind = "sqlite";
  std::string path = "/tmp/store_bench.db";
  int threads = 64;
  long writes = 200000;
  std::size_t value_bytes = 1024;
  bool watch = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--store")
      kind = next();
    else if (a == "--path")
      path = next();
    else if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--writes")
      writes = std::atol(next().c_str());
    else if (a == "--value-bytes")
      value_bytes = static_cast<std::size_t>(std::atol(next().c_str()));
    else if (a == "--watch")
      watch = true;
    else {
      std::fprintf(stderr, "unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (threads <= 0 || writes <= 0) return 2;

  StorePtr store;
  if (kind == "memory") {
    store = NewMemoryStore();
  } else {
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) std::filesystem::remove(path + suffix);
    SqliteStoreOptions o;
    o.path = path;
    auto s = OpenSqliteStore(o);
    if (!s) {
      std::fprintf(stderr, "open: %s\n", s.error().message().c_str());
      return 1;
    }
    store = std::move(*s);
  }
  CountingSink sink;
  WatchHandlePtr handle;
  if (watch) handle = std::move(*store->watch(0, sink));

  Bytes value = MakeBytes(std::string(value_bytes, 'v'));
  std::vector<std::vector<std::uint32_t>> latencies(threads);
  std::atomic<long> next_write{0};
  std::atomic<long> failures{0};
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      auto& lat = latencies[t];
      lat.reserve(static_cast<std::size_t>(writes / threads + 1));
      for (long n; (n = next_write.fetch_add(1)) < writes;) {
        std::string key = "/registry/bench/objects/ns/obj-" + std::to_string(n);
        auto t0 = std::chrono::steady_clock::now();
        if (!store->create(std::move(key), value)) failures++;
        lat.push_back(static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count()));
      }
    });
  }
  for (auto& w : workers) w.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::vector<std::uint32_t> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0u : all[static_cast<std::size_t>(p * (all.size() - 1))]; };
  CommitStats stats = store->commit_stats();
  std::printf("%s: %ld creates of %zu B from %d threads in %.2f s = %.0f writes/s (%ld failed)\n", kind.c_str(), writes,
              value_bytes, threads, seconds, static_cast<double>(writes) / seconds, failures.load());
  std::printf("write latency us: p50 %u  p90 %u  p99 %u  max %u\n", pct(0.5), pct(0.9), pct(0.99), pct(1.0));
  if (stats.commits > 0) {
    std::printf("commits %llu, writes/commit %.1f, commit latency avg %.0f us\n",
                static_cast<unsigned long long>(stats.commits),
                static_cast<double>(stats.writes) / static_cast<double>(stats.commits),
                static_cast<double>(stats.commit_micros_sum) / static_cast<double>(stats.commits));
  }
  if (watch) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (sink.events.load() < static_cast<std::uint64_t>(writes) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::printf("watcher received %llu events\n", static_cast<unsigned long long>(sink.events.load()));
  }
  handle.reset();
  store->close();
  return failures.load() == 0 ? 0 : 1;
}
