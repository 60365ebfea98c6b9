// controller_bench: controller throughput end to end — the real SDK (Manager, shared informer,
// CachedClient, Controller workers) against a real setpoint API server.
//
//   controller_bench [--server http://127.0.0.1:7080] [--objects 10000] [--workers 4]
//                    [--mode noop|status] [--read client|cache|typed] [--create-threads 16] [--timeout 600]
//                    [--passes 0] [--keep]
//
// Without --server it starts the API server in process (setpoint::testing::TestServer, memory
// store); the bench and the server then share this process's cores. It installs the CRD
// items.bench.setpoint.dev (kind Item, status subresource, open schema), creates a fresh namespace
// for this run, creates --objects Items in it from --create-threads threads over one pooled
// RestClient (keep-alive connections, not timed as part of the controller figures), then starts a
// Manager with one controller For(items) and --workers concurrent reconciles:
//   noop    the reconciler reads the object through the manager's (cached) client and returns
//           Done. Measured: until every one of the N keys was reconciled once (the first pass,
//           fed by the initial list).
//   status  the reconciler writes status {observedGeneration, ready: true} with the manager's
//           client update_status when not yet there, else Done. Measured: until N distinct
//           objects were written successfully ("converge"), confirmed by one uncached list; then
//           until the queue stays empty ("settle": the second pass that each status write's watch
//           event triggers, which must find the status already set).
// --read cache makes the reconciler read the controller's informer cache directly instead of the
// manager's CachedClient, which isolates what the client's read-your-writes bookkeeping costs.
// --read typed makes it a typed reconciler (runtime::Client over the same CachedClient, the Item
// decoded into a described struct, status written as one), which measures what types cost.
// --passes P (noop only): after converging, every key is queued again, P times over, one pass
// after the other, and the steady rate is reconciles/s over those P*N reconciles — the queue and
// the reconcile alone, long enough to measure (the first pass is over in a few tens of ms, where
// scheduling noise decides the figure).
// Times are from Manager::start() (which lists the N objects and fills the cache before the
// workers start) and from the first reconcile. The work queue alone, without I/O, is
// measured by bench/workqueue_bench.cc. Prints numbers; never fails on slowness (exit 1 only when
// the run did not converge or the setup failed).
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "setpoint/client/dynamic_client.h"
#include "setpoint/client/rest_client.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/client.h"
#include "setpoint/runtime/manager.h"
#include "setpoint/testing/test_server.h"
#include "setpoint/types/apiextensions_v1.h"
#include "setpoint/types/core_v1.h"

namespace {

namespace json = boost::json;
using setpoint::Status;
using setpoint::StatusCode;
using setpoint::client::GroupVersionResource;
using namespace setpoint::runtime;
using Clock = std::chrono::steady_clock;

const GroupVersionResource& kCrds = setpoint::types::GvrOf<setpoint::apiextensionsv1::CustomResourceDefinition>();
const GroupVersionResource& kNamespaces = setpoint::types::GvrOf<setpoint::corev1::Namespace>();
const GroupVersionResource kItems{"bench.setpoint.dev", "v1", "items", true, "Item"};

struct Options {
  std::string server;  // empty: in process
  int objects = 10000;
  int workers = 4;
  std::string mode = "noop";
  std::string read = "client";  // client | cache
  int create_threads = 16;
  int timeout_seconds = 600;
  int passes = 0;
  bool keep = false;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double CpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::string ItemName(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "item-%06d", i);
  return buf;
}

// "item-000123" -> 123; -1 for anything else.
int ItemIndex(std::string_view name) {
  if (!name.starts_with("item-")) return -1;
  int v = 0;
  for (char c : name.substr(5)) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The shape of tests/testing/crds.h's OpenCrd, written out here so the bench does not depend on
// the test tree.
json::object ItemCrd() {
  json::object open{{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
  return json::object{
      {"apiVersion", "apiextensions.k8s.io/v1"},
      {"kind", "CustomResourceDefinition"},
      {"metadata", {{"name", "items.bench.setpoint.dev"}}},
      {"spec",
       {{"group", "bench.setpoint.dev"},
        {"scope", "Namespaced"},
        {"names", {{"plural", "items"}, {"singular", "item"}, {"kind", "Item"}}},
        {"versions",
         json::array{json::object{
             {"name", "v1"},
             {"served", true},
             {"storage", true},
             {"subresources", {{"status", json::object{}}}},
             {"schema",
              {{"openAPIV3Schema", {{"type", "object"}, {"properties", {{"spec", open}, {"status", open}}}}}}}}}}}}};
}

bool StatusSet(const json::object& obj) {
  const auto* meta = setpoint::GetObject(obj, "metadata");
  const auto* status = setpoint::GetObject(obj, "status");
  if (!meta || !status) return false;
  const auto gen = setpoint::GetInt(*meta, "generation").value_or(1);
  const auto* ready = status->if_contains("ready");
  return setpoint::GetInt(*status, "observedGeneration").value_or(-1) == gen && ready && ready->is_bool() &&
         ready->as_bool();
}

// Counts distinct objects reaching a milestone (reconciled once / status written) and remembers
// when the last of them did.
class Milestone {
 public:
  explicit Milestone(int n) : flags_(static_cast<std::size_t>(n)), n_(n) {}
  void mark(std::string_view name) {
    const int i = ItemIndex(name);
    if (i < 0 || i >= n_) return;
    if (flags_[static_cast<std::size_t>(i)].exchange(true)) return;
    if (count_.fetch_add(1) + 1 == n_) {
      std::lock_guard lock(mu_);
      at_ = Clock::now();
      done_ = true;
      cv_.notify_all();
    }
  }
  // False on timeout.
  bool wait(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] { return done_; });
  }
  int count() const { return count_.load(); }
  Clock::time_point at() const {
    std::lock_guard lock(mu_);
    return at_;
  }

 private:
  std::vector<std::atomic<bool>> flags_;
  const int n_;
  std::atomic<int> count_{0};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Clock::time_point at_{};  // GUARDED_BY(mu_)
  bool done_ = false;       // GUARDED_BY(mu_)
};

// The Item as a typed resource, for --read typed.
struct ItemSpec {
  std::int64_t index = 0;
};
BOOST_DESCRIBE_STRUCT(ItemSpec, (), (index))
struct ItemStatus {
  std::int64_t observedGeneration = 0;
  bool ready = false;
};
BOOST_DESCRIBE_STRUCT(ItemStatus, (), (observedGeneration, ready))
struct Item : setpoint::types::Object {
  static constexpr setpoint::types::Kind kKind{"bench.setpoint.dev", "v1", "Item", "items"};
  ItemSpec spec;
  ItemStatus status;
};
BOOST_DESCRIBE_STRUCT(Item, (setpoint::types::Object), (spec, status))

class BenchReconciler : public Reconciler {
 public:
  // `cache` null: reads go through the manager's CachedClient (read-your-writes); else straight
  // to this cache (the stale-cache guard still holds a key back until its writes were seen).
  BenchReconciler(Manager& m, bool write_status, int n) : m_(m), write_status_(write_status), reached_(n) {}
  void read_from(const Cache* cache) { cache_ = cache; }

  void typed(bool on) { typed_ = on; }

  ReconcileResult reconcile(const Request& req) override {
    if (calls_.fetch_add(1, std::memory_order_relaxed) == 0) {
      std::lock_guard lock(mu_);
      first_ = Clock::now();
    }
    if (typed_) return reconcile_typed(req);
    setpoint::Result<ObjectPtr> got =
        cache_ ? setpoint::Result<ObjectPtr>(cache_->get(req.ns, req.name)) : m_.client().get(kItems, req.ns, req.name);
    if (got && !*got) return ReconcileResult::Done();  // gone from the raw cache
    if (!got) {
      if (got.error().code() == StatusCode::kNotFound) return ReconcileResult::Done();
      read_errors_.fetch_add(1);
      return ReconcileResult::Retry(got.error());
    }
    if (!write_status_) {
      reached_.mark(req.name);
      return ReconcileResult::Done();
    }
    const json::object& obj = **got;
    if (StatusSet(obj)) {
      already_set_.fetch_add(1, std::memory_order_relaxed);
      reached_.mark(req.name);  // a rerun over kept objects, or a write whose answer got lost
      return ReconcileResult::Done();
    }
    json::object updated = obj;
    const auto* meta = setpoint::GetObject(obj, "metadata");
    updated["status"] =
        json::object{{"observedGeneration", setpoint::GetInt(*meta, "generation").value_or(1)}, {"ready", true}};
    auto r = m_.client().update_status(kItems, req.ns, updated);
    if (!r) {
      (r.error().code() == StatusCode::kConflict ? conflicts_ : write_errors_).fetch_add(1);
      return ReconcileResult::Retry(r.error());
    }
    writes_.fetch_add(1, std::memory_order_relaxed);
    reached_.mark(req.name);
    return ReconcileResult::Done();
  }

  // The same as reconcile(), written with the typed client.
  ReconcileResult reconcile_typed(const Request& req) {
    const Client client(m_.client());
    auto item = client.view<Item>(req);  // shared and decoded once per version; copied to write
    if (!item) {
      if (item.error().code() == StatusCode::kNotFound) return ReconcileResult::Done();
      read_errors_.fetch_add(1);
      return ReconcileResult::Retry(item.error());
    }
    if (!write_status_) {
      reached_.mark(req.name);
      return ReconcileResult::Done();
    }
    const Item& seen = **item;
    if (seen.status.ready && seen.status.observedGeneration == seen.metadata.generation) {
      already_set_.fetch_add(1, std::memory_order_relaxed);
      reached_.mark(req.name);
      return ReconcileResult::Done();
    }
    Item next = seen;
    next.status = {seen.metadata.generation, true};
    auto r = client.update_status(next);
    if (!r) {
      (r.error().code() == StatusCode::kConflict ? conflicts_ : write_errors_).fetch_add(1);
      return ReconcileResult::Retry(r.error());
    }
    writes_.fetch_add(1, std::memory_order_relaxed);
    reached_.mark(req.name);
    return ReconcileResult::Done();
  }

  Milestone& reached() { return reached_; }
  // When the first reconcile began (the workers' start, to within a queue hand-off).
  Clock::time_point first() const {
    std::lock_guard lock(mu_);
    return first_;
  }
  std::uint64_t calls() const { return calls_.load(); }
  std::uint64_t writes() const { return writes_.load(); }
  std::uint64_t already_set() const { return already_set_.load(); }
  std::uint64_t conflicts() const { return conflicts_.load(); }
  std::uint64_t write_errors() const { return write_errors_.load(); }
  std::uint64_t read_errors() const { return read_errors_.load(); }

 private:
  Manager& m_;
  const bool write_status_;
  const Cache* cache_ = nullptr;
  bool typed_ = false;
  Milestone reached_;
  mutable std::mutex mu_;
  Clock::time_point first_{};  // GUARDED_BY(mu_)
  std::atomic<std::uint64_t> calls_{0}, writes_{0}, already_set_{0}, conflicts_{0}, write_errors_{0}, read_errors_{0};
};

int Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--server URL] [--objects N] [--workers W] [--mode noop|status] [--read client|cache|typed]\n"
               "          [--create-threads T] [--timeout SECONDS] [--passes P] [--keep]\n",
               argv0);
  return 2;
}

// Creates objects[0..n) in `ns` from `threads` threads; returns the failures.
int CreateItems(setpoint::client::RestClient& rest, const std::string& ns, int n, int threads) {
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      setpoint::client::DynamicClient api(rest);
      for (int i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
        json::object item{{"apiVersion", "bench.setpoint.dev/v1"},
                          {"kind", "Item"},
                          {"metadata", {{"name", ItemName(i)}, {"namespace", ns}}},
                          {"spec", {{"index", i}}}};
        auto r = api.create(kItems, ns, item);
        if (!r && r.error().code() != StatusCode::kAlreadyExists) {
          if (failed.fetch_add(1) < 5)
            std::fprintf(stderr, "create %s: %s\n", ItemName(i).c_str(), r.error().to_string().c_str());
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  return failed.load();
}

// Objects in `ns` whose status is set, counted from uncached, paged lists; -1 on error.
long CountStatusSet(setpoint::client::DynamicClient& api, const std::string& ns, long* total) {
  long set = 0;
  *total = 0;
  setpoint::client::ListOptions lo;
  lo.limit = 1000;
  do {
    auto page = api.list(kItems, ns, lo);
    if (!page) {
      std::fprintf(stderr, "verify list: %s\n", page.error().to_string().c_str());
      return -1;
    }
    for (const auto& o : page->items) {
      ++*total;
      if (StatusSet(o)) ++set;
    }
    lo.continue_ = page->continue_;
  } while (!lo.continue_.empty());
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(Usage(argv[0]));
      }
      return argv[++i];
    };
    if (a == "--server")
      o.server = next();
    else if (a == "--objects")
      o.objects = std::atoi(next().c_str());
    else if (a == "--workers")
      o.workers = std::atoi(next().c_str());
    else if (a == "--mode")
      o.mode = next();
    else if (a == "--read")
      o.read = next();
    else if (a == "--create-threads")
      o.create_threads = std::atoi(next().c_str());
    else if (a == "--timeout")
      o.timeout_seconds = std::atoi(next().c_str());
    else if (a == "--passes")
      o.passes = std::atoi(next().c_str());
    else if (a == "--keep")
      o.keep = true;
    else
      return Usage(argv[0]);
  }
  if ((o.mode != "noop" && o.mode != "status") || (o.read != "client" && o.read != "cache" && o.read != "typed") ||
      o.objects < 1 || o.workers < 1 || o.create_threads < 1 || o.passes < 0 || (o.passes > 0 && o.mode != "noop"))
    return Usage(argv[0]);
  const bool status_mode = o.mode == "status";
  spdlog::set_level(spdlog::level::warn);

  // The server: given, or in process.
  std::unique_ptr<setpoint::testing::TestServer> in_process;
  setpoint::client::RestConfig config;
  if (o.server.empty()) {
    auto s = setpoint::testing::TestServer::Start({.store = "memory"});
    if (!s) {
      std::fprintf(stderr, "starting the in-process server: %s\n", s.error().to_string().c_str());
      return 1;
    }
    in_process = std::move(*s);
    config = in_process->rest_config();
  } else {
    config.server = o.server;
  }
  config.timeout = std::chrono::seconds(60);
  config.user_agent = "setpoint-controller-bench/0.1";
  auto rest_or = setpoint::client::RestClient::Create(config);
  if (!rest_or) {
    std::fprintf(stderr, "client: %s\n", rest_or.error().to_string().c_str());
    return 1;
  }
  auto& rest = **rest_or;
  setpoint::client::DynamicClient api(rest);

  // The CRD (kept if it exists), a namespace of this run's own, and the objects.
  if (auto r = api.create(kCrds, "", ItemCrd()); !r && r.error().code() != StatusCode::kAlreadyExists) {
    std::fprintf(stderr, "CRD: %s\n", r.error().to_string().c_str());
    return 1;
  }
  const std::string ns = "cbench-" + std::to_string(getpid()) + "-" +
                         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000);
  if (auto r = api.create(kNamespaces, "",
                          json::object{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
      !r) {
    std::fprintf(stderr, "namespace: %s\n", r.error().to_string().c_str());
    return 1;
  }
  for (int attempt = 0;; ++attempt) {  // until the CRD is served
    if (api.list(kItems, ns, {.limit = 1})) break;
    if (attempt == 300) {
      std::fprintf(stderr, "items.bench.setpoint.dev is not served after 30 s\n");
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto c0 = Clock::now();
  const int create_failures = CreateItems(rest, ns, o.objects, o.create_threads);
  const double create_s = Seconds(Clock::now() - c0);
  if (create_failures > 0) {
    std::fprintf(stderr, "%d creates failed\n", create_failures);
    return 1;
  }

  // The manager and its one controller.
  ManagerOptions mo;
  mo.name = "controller-bench";
  mo.cache_sync_timeout = std::chrono::seconds(o.timeout_seconds);
  mo.graceful_shutdown_timeout = std::chrono::seconds(30);
  auto mgr_or = Manager::Create(rest, std::move(mo));
  if (!mgr_or) {
    std::fprintf(stderr, "manager: %s\n", mgr_or.error().to_string().c_str());
    return 1;
  }
  Manager& mgr = **mgr_or;
  mgr.set_cache_options(kItems, {.ns = ns});
  BenchReconciler reconciler(mgr, status_mode, o.objects);
  auto builder = mgr.controller("items");
  if (o.read == "typed")
    builder.For<Item>();
  else
    builder.For(kItems);
  auto built = builder.WithMaxConcurrentReconciles(o.workers).Complete(reconciler);
  if (!built) {
    std::fprintf(stderr, "controller: %s\n", built.error().to_string().c_str());
    return 1;
  }
  Controller* controller = built->get();
  if (o.read == "cache") reconciler.read_from(controller->cache(kItems));
  reconciler.typed(o.read == "typed");
  if (Status s = mgr.add(std::move(*built)); !s.ok()) {
    std::fprintf(stderr, "add: %s\n", s.to_string().c_str());
    return 1;
  }

  const double cpu0 = CpuSeconds();
  const auto t0 = Clock::now();
  if (Status s = mgr.start(); !s.ok()) {
    std::fprintf(stderr, "manager start: %s\n", s.to_string().c_str());
    return 1;
  }
  const auto t_started = Clock::now();  // caches synced, every key queued, workers running
  const auto deadline = t0 + std::chrono::seconds(o.timeout_seconds);
  const bool converged = reconciler.reached().wait(deadline);
  const auto t2 = converged ? reconciler.reached().at() : Clock::now();
  const auto t1 = reconciler.calls() > 0 ? reconciler.first() : t_started;  // the first reconcile
  const std::uint64_t n_at = reconciler.calls();  // metrics count a reconcile only after it returned
  const double cpu2 = CpuSeconds();

  // status: the server's view, then the follow-up pass until the queue stays empty for 500 ms.
  long verified = -1, listed = 0;
  double settle_s = 0;
  std::uint64_t settle_reconciles = 0;
  bool settled = false;
  if (status_mode && converged) {
    auto quiet_since = Clock::now();
    while (Clock::now() < deadline) {
      const auto m = controller->metrics();
      if (controller->queue().len() > 0 || controller->queue().num_waiting() > 0 || m.active_workers > 0)
        quiet_since = Clock::now();
      else if (Clock::now() - quiet_since >= std::chrono::milliseconds(500)) {
        settled = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    settle_s = Seconds(quiet_since - t0);
    settle_reconciles = controller->metrics().reconcile_total();
    verified = CountStatusSet(api, ns, &listed);
  }
  // noop --passes: every key again, pass after pass; each pass ends when the metrics count N more.
  double steady_s = 0;
  std::uint64_t steady_reconciles = 0;
  bool steady_done = o.passes == 0 || !converged;
  if (o.passes > 0 && converged) {
    std::vector<std::string> keys;
    keys.reserve(o.objects);
    for (int i = 0; i < o.objects; ++i) keys.push_back(ns + "/" + ItemName(i));
    std::uint64_t done_at = controller->metrics().reconcile_total();
    const auto s0 = Clock::now();
    int pass = 0;
    for (; pass < o.passes && Clock::now() < deadline; ++pass) {
      for (const auto& k : keys) controller->queue().add(k);
      done_at += keys.size();
      while (controller->metrics().reconcile_total() < done_at && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    steady_s = Seconds(Clock::now() - s0);
    steady_reconciles = static_cast<std::uint64_t>(pass) * keys.size();
    steady_done = pass == o.passes && controller->metrics().reconcile_total() >= done_at;
  }
  const ControllerMetrics end = controller->metrics();
  const WorkQueueMetrics queue = controller->queue().metrics();
  const Status stopped = mgr.stop();

  const double sync_s = Seconds(t1 - t0), converge_s = Seconds(t2 - t0), work_s = Seconds(t2 - t1);
  std::printf("controller_bench mode=%s objects=%d workers=%d read=%s server=%s\n", o.mode.c_str(), o.objects,
              o.workers, o.read == "client" ? "CachedClient" : "raw-cache",
              o.server.empty() ? "in-process(memory store)" : o.server.c_str());
  std::printf("  create      %d objects in %.2f s (%.0f/s, %d threads; before the controller)\n", o.objects, create_s,
              o.objects / create_s, o.create_threads);
  std::printf(
      "  sync        %.2f s  from start() to the first reconcile: initial list of %d into the cache, keys queued\n",
      sync_s, o.objects);
  if (!converged)
    std::printf("  NOT CONVERGED after %d s: %d/%d objects\n", o.timeout_seconds, reconciler.reached().count(),
                o.objects);
  std::printf("  converge    %.2f s from start(), %.2f s from the first reconcile (%s)\n", converge_s, work_s,
              status_mode ? "every object's status written" : "every key reconciled once");
  std::printf("  reconciles  %llu by then: %.0f/s from start(), %.0f/s from the first reconcile\n",
              static_cast<unsigned long long>(n_at), n_at / converge_s, work_s > 0 ? n_at / work_s : 0.0);
  if (status_mode) {
    std::printf("  writes      %llu status updates; %llu reconciles found the status already set\n",
                static_cast<unsigned long long>(reconciler.writes()),
                static_cast<unsigned long long>(reconciler.already_set()));
    std::printf("  settle      %.2f s from start() until the queue stayed empty%s: %llu reconciles in all\n", settle_s,
                settled ? "" : " (NOT SETTLED)", static_cast<unsigned long long>(settle_reconciles));
    std::printf("  verify      %ld/%ld objects with status set (one uncached list)\n", verified, listed);
  }
  std::printf(
      "  errors      %llu (conflicts %llu, other write errors %llu, read errors %llu, panics %llu)\n",
      static_cast<unsigned long long>(end.reconcile_error), static_cast<unsigned long long>(reconciler.conflicts()),
      static_cast<unsigned long long>(reconciler.write_errors()),
      static_cast<unsigned long long>(reconciler.read_errors()), static_cast<unsigned long long>(end.panics_total));
  std::printf("  skips       %llu stale_sync_skips; workqueue retries %llu, adds %llu\n",
              static_cast<unsigned long long>(end.stale_sync_skips_total),
              static_cast<unsigned long long>(queue.retries_total), static_cast<unsigned long long>(queue.adds_total));
  std::printf(
      "  latency     reconcile mean %.2f ms; queue wait mean %.1f ms\n",
      end.reconcile_time_seconds.count ? 1e3 * end.reconcile_time_seconds.sum / end.reconcile_time_seconds.count : 0.0,
      queue.queue_duration_seconds.count ? 1e3 * queue.queue_duration_seconds.sum / queue.queue_duration_seconds.count
                                         : 0.0);
  if (o.passes > 0)
    std::printf("  steady      %llu reconciles in %.3f s (%.0f/s): every key queued again %d times after converge%s\n",
                static_cast<unsigned long long>(steady_reconciles), steady_s,
                steady_s > 0 ? steady_reconciles / steady_s : 0.0, o.passes, steady_done ? "" : " (NOT DONE)");
  std::printf("  cpu         %.2f s of this process from start() to converge%s\n", cpu2 - cpu0,
              o.server.empty() ? " (server included)" : " (client side only)");
  if (!stopped.ok()) std::printf("  stop        %s\n", stopped.to_string().c_str());
  // One line for scripts (bench/run.py). reconciles_per_s counts from the first reconcile, so the
  // initial list is not in it; converge_s is from start().
  std::printf(
      "RESULT mode=%s objects=%d workers=%d converged=%d converge_s=%.3f reconciles_per_s=%.1f errors=%llu "
      "stale_sync_skips=%llu steady_per_s=%.1f\n",
      o.mode.c_str(), o.objects, o.workers, converged ? 1 : 0, converge_s, work_s > 0 ? n_at / work_s : 0.0,
      static_cast<unsigned long long>(end.reconcile_error), static_cast<unsigned long long>(end.stale_sync_skips_total),
      steady_s > 0 ? steady_reconciles / steady_s : 0.0);

  if (!o.keep && !o.server.empty()) {
    // The namespace and its Items go with it (the server's namespace lifecycle). Waited for, so
    // that the next run does not share the server with this run's deletes; best effort.
    const auto c1 = Clock::now();
    if (auto r = api.remove(kNamespaces, "", ns); !r) {
      std::fprintf(stderr, "cleanup: %s\n", r.error().to_string().c_str());
    } else {
      while (Clock::now() - c1 < std::chrono::seconds(120)) {
        auto got = api.get(kNamespaces, "", ns);
        if (!got && got.error().code() == StatusCode::kNotFound) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      std::printf("  cleanup     namespace %s deleted in %.2f s\n", ns.c_str(), Seconds(Clock::now() - c1));
    }
  } else if (o.keep && !o.server.empty()) {
    std::printf("  kept        namespace %s\n", ns.c_str());
  }
  const bool ok = converged && steady_done && (!status_mode || verified == o.objects);
  return ok ? 0 : 1;
}
