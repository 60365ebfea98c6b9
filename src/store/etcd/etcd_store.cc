#include "store/etcd/etcd_store.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "setpoint/common/log_limiter.h"
#include "store/backend_support.h"
#include "store/etcd/etcd_client.h"
#include "store/etcd/etcd_watch.h"

namespace setpoint::store {
namespace {

using etcd::EtcdClient;
using etcd::EtcdWatcher;
using etcd::FromGrpc;
using etcd::IsCompacted;
using etcd::IsFutureRevision;
using etcd::RevisionTracker;
namespace pb = etcd::pb;
using Clock = std::chrono::steady_clock;

// How long close() waits for watches to deliver this store's last writes.
constexpr std::chrono::seconds kCloseDrain{10};
// How often health() is refreshed.
constexpr std::chrono::seconds kHealthPeriod{2};
// How long the health probe waits for etcd before calling it unreachable.
constexpr std::chrono::milliseconds kHealthTimeout{2000};

const std::string kNul(1, '\0');

enum class Op { kCreate, kUpdate, kRemove };

const char* OpName(Op op) { return op == Op::kCreate ? "create" : op == Op::kUpdate ? "update" : "delete"; }

void AddCompare(pb::TxnRequest& txn, const std::string& key, pb::Compare::CompareTarget target,
                pb::Compare::CompareResult result, Revision operand) {
  pb::Compare* c = txn.add_compare();
  c->set_key(key);
  c->set_target(target);
  c->set_result(result);
  switch (target) {
    case pb::Compare::CREATE:
      c->set_create_revision(operand);
      break;
    case pb::Compare::MOD:
      c->set_mod_revision(operand);
      break;
    default:
      c->set_version(operand);
      break;
  }
}

// One write as one etcd transaction whose compare is the precondition:
//   create:            create_revision(key) == 0        then put
//   update/delete, 0:  version(key) > 0 (it exists)     then put / delete
//   update/delete, r:  mod_revision(key) == r           then put / delete, else range(key)
// The failure branch's range tells NotFound from Conflict in the same round trip.
pb::TxnRequest WriteTxn(Op op, const std::string& etcd_key, const Bytes& value, Revision expected) {
  pb::TxnRequest txn;
  if (op == Op::kCreate) {
    AddCompare(txn, etcd_key, pb::Compare::CREATE, pb::Compare::EQUAL, 0);
  } else if (expected == 0) {
    AddCompare(txn, etcd_key, pb::Compare::VERSION, pb::Compare::GREATER, 0);
  } else {
    AddCompare(txn, etcd_key, pb::Compare::MOD, pb::Compare::EQUAL, expected);
    txn.add_failure()->mutable_request_range()->set_key(etcd_key);
  }
  pb::RequestOp* then = txn.add_success();
  if (op == Op::kRemove) {
    then->mutable_request_delete_range()->set_key(etcd_key);
  } else {
    pb::PutRequest* put = then->mutable_request_put();
    put->set_key(etcd_key);
    put->set_value(*value);
  }
  return txn;
}

Result<Revision> WriteResult(Op op, const std::string& key, Revision expected, const grpc::Status& st,
                             const pb::TxnResponse& resp) {
  if (!st.ok()) return Err(FromGrpc(st, OpName(op)));
  if (resp.succeeded()) return resp.header().revision();
  if (op == Op::kCreate) return Err(KeyExists(key));
  if (expected == 0 || resp.responses_size() == 0 || resp.responses(0).response_range().kvs_size() == 0)
    return Err(KeyNotFound(key));
  return Err(RevisionMismatch(key, expected, resp.responses(0).response_range().kvs(0).mod_revision()));
}

class EtcdWatchHandle final : public WatchHandle {
 public:
  explicit EtcdWatchHandle(std::shared_ptr<EtcdWatcher> w) : w_(std::move(w)) {}
  ~EtcdWatchHandle() override { w_->cancel(); }

 private:
  std::shared_ptr<EtcdWatcher> w_;
};

class EtcdStore final : public Store {
 public:
  EtcdStore(std::shared_ptr<EtcdClient> client, std::shared_ptr<RevisionTracker> revs)
      : client_(std::move(client)), revs_(std::move(revs)), prefix_(client_->key_prefix()) {
    const EtcdStoreOptions& o = client_->options();
    if (o.history_max_events > 0 || o.compaction_interval.count() > 0)
      compactor_ = std::thread([this] { compactor_loop(); });
    health_thread_ = std::thread([this] { health_loop(); });
  }
  ~EtcdStore() override { close(); }

  Result<Revision> create(std::string key, Bytes value) override {
    return write(Op::kCreate, std::move(key), std::move(value), 0);
  }
  Result<Revision> update(std::string key, Bytes value, Revision expected) override {
    return write(Op::kUpdate, std::move(key), std::move(value), expected);
  }
  Result<Revision> remove(std::string key, Revision expected) override {
    return write(Op::kRemove, std::move(key), nullptr, expected);
  }
  void create_async(std::string key, Bytes value, WriteCallback done) override {
    write_async(Op::kCreate, std::move(key), std::move(value), 0, std::move(done));
  }
  void update_async(std::string key, Bytes value, Revision expected, WriteCallback done) override {
    write_async(Op::kUpdate, std::move(key), std::move(value), expected, std::move(done));
  }

  Result<KeyValue> get(std::string_view key) override {
    if (is_closed()) return Err(StoreClosed());
    pb::RangeRequest req;
    req.set_key(prefix_ + std::string(key));
    pb::RangeResponse resp;
    grpc::Status st = client_->range(req, &resp);
    if (!st.ok()) return Err(FromGrpc(st, "get"));
    revs_->see_latest(resp.header().revision());
    if (resp.kvs_size() == 0) return Err(KeyNotFound(std::string(key)));
    mvccpb::KeyValue& kv = *resp.mutable_kvs(0);
    return KeyValue{std::string(key), MakeBytes(std::move(*kv.mutable_value())), kv.mod_revision()};
  }

  Result<ListResult> list(std::string_view prefix, Revision at) override {
    if (is_closed()) return Err(StoreClosed());
    std::string from = prefix_ + std::string(prefix);
    pb::RangeRequest req;
    req.set_key(from.empty() ? kNul : from);
    req.set_range_end(PrefixEnd(from).value_or(kNul));
    req.set_revision(at);
    req.set_limit(static_cast<std::int64_t>(std::max<std::size_t>(client_->options().list_page_size, 1)));
    ListResult out;
    for (bool first = true;; first = false) {
      pb::RangeResponse resp;
      grpc::Status st = client_->range(req, &resp);
      if (!st.ok()) {
        Revision asked = req.revision();
        if (IsCompacted(st)) return Err(TooOldRevision(asked, find_compacted(asked + 1)));
        if (IsFutureRevision(st)) return Err(FutureRevision(asked, current_revision()));
        return Err(FromGrpc(st, "list"));
      }
      revs_->see_latest(resp.header().revision());
      if (first) {
        // Every further page is read at the first page's revision: one consistent snapshot.
        out.revision = at != 0 ? at : resp.header().revision();
        req.set_revision(out.revision);
      }
      for (mvccpb::KeyValue& kv : *resp.mutable_kvs()) {
        out.items.push_back(
            KeyValue{kv.key().substr(prefix_.size()), MakeBytes(std::move(*kv.mutable_value())), kv.mod_revision()});
      }
      if (!resp.more() || resp.kvs_size() == 0) break;
      req.set_key(prefix_ + out.items.back().key + kNul);
    }
    return out;
  }

  Result<WatchHandlePtr> watch(Revision after, WatchSink& sink) override {
    if (is_closed()) return Err(StoreClosed());
    if (Revision c = revs_->compacted.load(); after < c) return Err(TooOldRevision(after, c));
    // etcd would accept a start revision up to the compacted one itself and only cancel the
    // stream later; the contract wants the answer now, and a Range at `after` gives it.
    Revision probe = std::max<Revision>(after, 1);
    auto kept = client_->revision_retained(probe);
    if (!kept) return Err(kept.error());
    if (!*kept) return Err(TooOldRevision(after, find_compacted(probe + 1)));
    auto w = std::make_shared<EtcdWatcher>(client_, revs_, after, sink);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_) return Err(StoreClosed());
      std::erase_if(watchers_, [](const std::weak_ptr<EtcdWatcher>& p) { return p.expired(); });
      watchers_.push_back(w);
      w->start();
    }
    return WatchHandlePtr(std::make_unique<EtcdWatchHandle>(std::move(w)));
  }

  Status compact(Revision upto) override {
    if (is_closed()) return StoreClosed();
    auto current = client_->current_revision();
    if (!current) return current.error();
    revs_->see_latest(*current);
    return compact_to(std::min(upto, *current));
  }

  Revision current_revision() override {
    if (!is_closed()) {
      if (auto r = client_->current_revision()) revs_->see_latest(*r);
    }
    return revs_->latest.load();
  }

  Revision compacted_revision() override { return revs_->compacted.load(); }

  // At open: a store reopened after a compaction (by this or another server) knows it at once.
  Status learn_compaction() {
    auto kept = client_->revision_retained(1);
    if (!kept) return kept.error();
    if (!*kept) find_compacted(2);
    return Status::Ok();
  }

  StoreHealth health() override {
    std::lock_guard<std::mutex> lock(health_mu_);
    return health_;
  }

  CommitStats commit_stats() override {
    std::lock_guard<std::mutex> lock(stats_mu_);
    return stats_;
  }

  void close() override {
    std::lock_guard<std::mutex> serialise(close_mu_);
    std::vector<std::weak_ptr<EtcdWatcher>> watchers;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (closed_) return;
      closed_ = true;
      // Every write has a deadline, so this wait is bounded.
      idle_cv_.wait(lock, [&] { return inflight_ == 0; });
      watchers.swap(watchers_);
    }
    {
      std::lock_guard<std::mutex> lock(cmu_);
      cstop_ = true;
      ccv_.notify_all();
    }
    if (compactor_.joinable()) compactor_.join();
    if (health_thread_.joinable()) health_thread_.join();
    // Watches first deliver this store's own acknowledged writes, then end.
    Revision target = written_.load();
    auto deadline = Clock::now() + kCloseDrain;
    for (auto& weak : watchers) {
      if (auto w = weak.lock()) w->finish(target, deadline, StoreClosed());
    }
  }

 private:
  bool is_closed() {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

  bool begin_write() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    ++inflight_;
    return true;
  }

  void end_write() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--inflight_ == 0) idle_cv_.notify_all();
  }

  Result<Revision> write(Op op, std::string key, Bytes value, Revision expected) {
    if (!begin_write()) return Err(StoreClosed());
    auto started = Clock::now();
    pb::TxnResponse resp;
    grpc::Status st = client_->txn(WriteTxn(op, prefix_ + key, NonNull(std::move(value)), expected), &resp);
    auto result = WriteResult(op, key, expected, st, resp);
    if (result)
      committed(*result, started);
    else
      failed(result.error());
    end_write();
    return result;
  }

  void write_async(Op op, std::string key, Bytes value, Revision expected, WriteCallback done) {
    if (!begin_write()) return done(Err(StoreClosed()));
    auto started = Clock::now();
    pb::TxnRequest txn = WriteTxn(op, prefix_ + key, NonNull(std::move(value)), expected);
    client_->txn_async(std::move(txn), [this, op, key = std::move(key), expected, started, done = std::move(done)](
                                           const grpc::Status& st, pb::TxnResponse& resp) {
      auto result = WriteResult(op, key, expected, st, resp);
      if (result)
        committed(*result, started);
      else
        failed(result.error());
      done(std::move(result));
      end_write();  // last: close() may destroy the store once no write is in flight
    });
  }

  // A write etcd refused for a reason of its own (away, out of quota): counted and logged,
  // rate-limited, since such failures come in floods.
  void failed(const Status& why) {
    if (!IsBackendFailure(why)) return;
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      stats_.failed_writes++;
    }
    if (auto held = failure_log_.admit("write"))
      spdlog::error("etcd: a write failed: {}{}", why.message(), LogLimiter::Suffix(*held));
  }

  void committed(Revision rev, Clock::time_point started) {
    revs_->see_latest(rev);
    RevisionTracker::Raise(written_, rev);
    auto micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
    {
      std::lock_guard<std::mutex> lock(stats_mu_);
      RecordCommit(stats_, 1, micros);
    }
    std::size_t keep = client_->options().history_max_events;
    if (keep > 0 && rev - static_cast<Revision>(keep) > revs_->compacted.load()) {
      std::lock_guard<std::mutex> lock(cmu_);
      if (!kicked_) {
        kicked_ = true;
        ccv_.notify_all();
      }
    }
  }

  // etcd does not report its compacted revision. It is the oldest revision a Range still
  // accepts, so a binary search over [at_least, current] with count-only Ranges finds it
  // (about log2(current - at_least) requests). Called only once etcd has said that revisions
  // before `at_least` are compacted.
  Revision find_compacted(Revision at_least) {
    Revision lo = std::max<Revision>(at_least, 1);
    auto kept = client_->revision_retained(lo);
    if (kept && !*kept) {
      auto current = client_->current_revision();
      Revision hi = current ? *current : lo;
      while (hi - lo > 1) {
        Revision mid = lo + (hi - lo) / 2;
        auto k = client_->revision_retained(mid);
        if (!k) break;
        (*k ? hi : lo) = mid;
      }
      lo = hi;
    }
    revs_->see_compacted(lo);
    return revs_->compacted.load();
  }

  Status compact_to(Revision target) {
    if (target <= 0 || target <= revs_->compacted.load()) return Status::Ok();
    grpc::Status st = client_->compact(target);
    if (st.ok()) {
      revs_->see_compacted(target);
      return Status::Ok();
    }
    // Someone (another server, etcd's own auto-compaction) compacted at or past `target`.
    if (IsCompacted(st)) {
      find_compacted(target);
      return Status::Ok();
    }
    return FromGrpc(st, "compact");
  }

  // Every kHealthPeriod: can etcd be reached, and which alarms are raised (a NOSPACE alarm makes
  // every write fail until an operator compacts, defragments and disarms it).
  void health_loop() {
    std::unique_lock<std::mutex> lock(cmu_);
    while (!cstop_) {
      lock.unlock();
      StoreHealth h;
      pb::AlarmResponse alarms;
      if (grpc::Status st = client_->alarms(&alarms, kHealthTimeout); !st.ok()) {
        h.reachable = false;
        h.detail = "etcd unreachable: " + st.error_message();
      } else {
        for (const auto& a : alarms.alarms())
          if (a.alarm() != pb::AlarmType::NONE) h.alarms.push_back(pb::AlarmType_Name(a.alarm()));
      }
      {
        std::lock_guard<std::mutex> hl(health_mu_);
        if (health_.ok() != h.ok()) {
          if (h.ok())
            spdlog::info("etcd store: etcd is healthy again");
          else
            spdlog::warn("etcd store: {}", h.reachable ? "alarm " + h.alarms.front() : h.detail);
        }
        health_ = std::move(h);
      }
      lock.lock();
      ccv_.wait_for(lock, kHealthPeriod, [&] { return cstop_; });
    }
  }

  // Count bound: after writes, compact to latest - history_max_events, at most once per
  // min_compaction_spacing (each etcd compaction walks its whole key index). Interval: every
  // compaction_interval compact to the revision seen at the previous tick (kube-apiserver's rule).
  void compactor_loop() {
    const EtcdStoreOptions& o = client_->options();
    const auto never = Clock::time_point::max();
    auto next_tick = o.compaction_interval.count() > 0 ? Clock::now() + o.compaction_interval : never;
    Revision tick_revision = 0;
    Clock::time_point last_compaction{};
    std::unique_lock<std::mutex> lock(cmu_);
    while (!cstop_) {
      auto now = Clock::now();
      bool count_due = kicked_ && now >= last_compaction + o.min_compaction_spacing;
      bool tick_due = now >= next_tick;
      if (!count_due && !tick_due) {
        auto wake = kicked_ ? std::min(next_tick, last_compaction + o.min_compaction_spacing) : next_tick;
        if (wake == never) {
          ccv_.wait(lock);
        } else {
          ccv_.wait_until(lock, wake);
        }
        continue;
      }
      if (count_due) kicked_ = false;
      lock.unlock();
      Revision target = 0;
      if (count_due) target = revs_->latest.load() - static_cast<Revision>(o.history_max_events);
      if (tick_due) {
        target = std::max(target, tick_revision);
        if (auto current = client_->current_revision()) tick_revision = *current;
        next_tick = now + o.compaction_interval;
      }
      if (target > revs_->compacted.load()) {
        if (Status s = compact_to(target); !s.ok())
          spdlog::warn("etcd store: compaction to {} failed: {}", target, s.to_string());
        last_compaction = Clock::now();
      }
      lock.lock();
    }
  }

  const std::shared_ptr<EtcdClient> client_;
  const std::shared_ptr<RevisionTracker> revs_;
  const std::string prefix_;
  std::atomic<Revision> written_{0};  // newest revision this store wrote

  std::mutex close_mu_;
  std::mutex mu_;
  std::condition_variable idle_cv_;
  bool closed_ = false;
  int inflight_ = 0;
  std::vector<std::weak_ptr<EtcdWatcher>> watchers_;

  std::mutex stats_mu_;
  CommitStats stats_;
  LogLimiter failure_log_;

  std::mutex cmu_;
  std::condition_variable ccv_;
  bool cstop_ = false;
  bool kicked_ = false;
  std::mutex health_mu_;
  StoreHealth health_;     // GUARDED_BY(health_mu_)
  std::thread compactor_;  // last two: started by the constructor once the rest exists
  std::thread health_thread_;
};

}  // namespace

Result<EtcdStoreOptions> ParseEtcdStoreUrl(std::string_view url) {
  EtcdStoreOptions o;
  std::string_view rest;
  bool matched = false;
  for (auto [scheme, tls] : {std::pair{"etcd://", false}, {"etcd+http://", false}, {"etcd+https://", true}}) {
    if (url.starts_with(scheme)) {
      rest = url.substr(std::string_view(scheme).size());
      o.tls = tls;
      matched = true;
      break;
    }
  }
  if (!matched)
    return Err(Status::BadRequest("an etcd store is etcd://HOST:PORT[,HOST:PORT...] or etcd+https://..., got \"" +
                                  std::string(url) + "\""));
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  while (!rest.empty()) {
    auto comma = rest.find(',');
    std::string_view endpoint = rest.substr(0, comma);
    if (endpoint.empty() || endpoint.find('/') != std::string_view::npos ||
        endpoint.find(':') == std::string_view::npos)
      return Err(Status::BadRequest("bad etcd endpoint \"" + std::string(endpoint) + "\" in \"" + std::string(url) +
                                    "\" (want HOST:PORT)"));
    o.endpoints.emplace_back(endpoint);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (o.endpoints.empty()) return Err(Status::BadRequest("no etcd endpoints in \"" + std::string(url) + "\""));
  return o;
}

Result<StorePtr> OpenEtcdStore(EtcdStoreOptions options) {
  if (options.endpoints.empty()) return Err(Status::BadRequest("no etcd endpoints given"));
  auto client = EtcdClient::Connect(options);
  if (!client) return Err(client.error());
  pb::StatusResponse status;
  if (grpc::Status st = (*client)->status(&status); !st.ok()) return Err(FromGrpc(st, "status"));
  spdlog::info("etcd store: etcd {} (member {:x}), revision {}", status.version(), status.header().member_id(),
               status.header().revision());
  pb::AlarmResponse alarms;
  if (grpc::Status st = (*client)->alarms(&alarms); st.ok()) {
    for (const auto& a : alarms.alarms()) {
      spdlog::warn("etcd store: member {:x} has alarm {}", a.member_id(), pb::AlarmType_Name(a.alarm()));
    }
  }
  auto revs = std::make_shared<RevisionTracker>();
  revs->see_latest(status.header().revision());
  auto store = std::make_unique<EtcdStore>(std::move(*client), revs);
  if (Status s = store->learn_compaction(); !s.ok()) return Err(s);
  return StorePtr(std::move(store));
}

}  // namespace setpoint::store
