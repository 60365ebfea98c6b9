// What the etcd backend does beyond the shared contract, against real etcd (Debian's 3.4):
// the --store URL, pagination, compaction seen by other stores, the key prefix, watches that
// survive etcd restarts and member loss, TLS with client certificates, and the NOSPACE alarm.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "etcd_fixture.h"
#include "store/etcd/etcd_store.h"
#include "store_test_util.h"

namespace setpoint::store {
namespace {

using testing::Consecutive;
using testing::EtcdCluster;
using testing::EtcdClusterOptions;
using testing::RecordingSink;
using testing::Str;
using testing::TempDir;
using testing::WaitUntil;

TEST(EtcdStoreUrl, ParsesEndpointsAndScheme) {
  auto one = ParseEtcdStoreUrl("etcd://127.0.0.1:2379");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->endpoints, (std::vector<std::string>{"127.0.0.1:2379"}));
  EXPECT_FALSE(one->tls);
  auto three = ParseEtcdStoreUrl("etcd+https://a:1,b:2,[::1]:3/");
  ASSERT_TRUE(three.has_value());
  EXPECT_EQ(three->endpoints, (std::vector<std::string>{"a:1", "b:2", "[::1]:3"}));
  EXPECT_TRUE(three->tls);
  for (const char* bad : {"etcd://", "etcd://host", "etcd://a:1,,b:2", "http://a:1", "etcd://a:1/prefix"}) {
    auto r = ParseEtcdStoreUrl(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code(), StatusCode::kBadRequest) << bad;
  }
}

TEST(EtcdStoreOpen, UnreachableEtcdIsUnavailableWithinTheDialTimeout) {
  EtcdStoreOptions o;
  o.endpoints = {"127.0.0.1:1"};
  o.dial_timeout = std::chrono::milliseconds(300);
  auto s = OpenEtcdStore(o);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), StatusCode::kUnavailable);
}

// Creates `key` like a client would while etcd elects a leader: an ambiguous failure
// (Unavailable, Timeout) is retried, and AlreadyExists then means an earlier attempt landed.
Result<Revision> CreateRetrying(Store& store, const std::string& key) {
  auto deadline = std::chrono::steady_clock::now() + testing::kDeadline;
  for (;;) {
    auto r = store.create(key, MakeBytes("v"));
    if (r) return r;
    if (r.error().code() == StatusCode::kAlreadyExists) {
      auto got = store.get(key);
      if (got) return got->revision;
    }
    bool ambiguous = r.error().code() == StatusCode::kUnavailable || r.error().code() == StatusCode::kTimeout;
    if (!ambiguous || std::chrono::steady_clock::now() > deadline) return r;
  }
}

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdCluster::Available()) GTEST_SKIP() << testing::kEtcdBinary << " is not installed";
  }

  void start(EtcdClusterOptions co = {}) {
    std::string error;
    cluster_ = EtcdCluster::Start(dir_.path(), co, &error);
    ASSERT_NE(cluster_, nullptr) << error;
  }

  EtcdStoreOptions options() const {
    EtcdStoreOptions o;
    o.endpoints = cluster_->endpoints();
    return o;
  }

  StorePtr open(EtcdStoreOptions o) {
    auto s = OpenEtcdStore(std::move(o));
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().to_string());
    return s ? std::move(*s) : nullptr;
  }

  TempDir dir_;
  std::unique_ptr<EtcdCluster> cluster_;
};

TEST_F(EtcdStoreTest, ListReadsEveryPageAtTheFirstPagesRevision) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto o = options();
  o.list_page_size = 3;
  StorePtr store = open(o);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->create("/p/" + std::to_string(i), MakeBytes("v")));
  Revision at = store->current_revision();
  // Writes after `at` must not show in a list at `at`, however many pages it takes.
  ASSERT_TRUE(store->create("/p/5a", MakeBytes("late")));
  ASSERT_TRUE(store->remove("/p/7", 0));
  auto l = store->list("/p/", at);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->revision, at);
  ASSERT_EQ(l->items.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(l->items[i].key, "/p/" + std::to_string(i));
  auto now = store->list("/p/", 0);
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->revision, at + 2);
  EXPECT_EQ(now->items.size(), 10u);
  auto future = store->list("/p/", at + 100);
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().code(), StatusCode::kTimeout);
  EXPECT_EQ(future.error().message(), "Too large resource version: " + std::to_string(at + 100) +
                                          ", current resource version: " + std::to_string(at + 2));
}

// etcd does not report its compacted revision; a store learns it at open and from etcd's
// "compacted" answers, exactly.
TEST_F(EtcdStoreTest, CompactionByAnotherStoreIsLearnedExactly) {
  ASSERT_NO_FATAL_FAILURE(start());
  StorePtr a = open(options());
  ASSERT_NE(a, nullptr);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(a->create("/k" + std::to_string(i), MakeBytes("v")));
  Revision r = a->current_revision();
  ASSERT_TRUE(a->compact(r - 10).ok());
  StorePtr b = open(options());
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->compacted_revision(), r - 10);  // found at open

  ASSERT_TRUE(a->compact(r - 3).ok());
  EXPECT_EQ(b->compacted_revision(), r - 10);  // b has not asked etcd yet
  auto old = b->list("", r - 5);
  ASSERT_FALSE(old.has_value());
  EXPECT_EQ(old.error().code(), StatusCode::kExpired);
  EXPECT_EQ(old.error().message(),
            "too old resource version: " + std::to_string(r - 5) + " (" + std::to_string(r - 3) + ")");
  EXPECT_EQ(b->compacted_revision(), r - 3);
  RecordingSink sink;
  EXPECT_EQ(b->watch(r - 4, sink).error().code(), StatusCode::kExpired);
  auto w = b->watch(r - 3, sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(r));
  EXPECT_TRUE(Consecutive(sink.events(), r - 3, r));
  // Compacting below what etcd has compacted is not an error: history is already shorter.
  EXPECT_TRUE(b->compact(r - 8).ok());
}

TEST_F(EtcdStoreTest, KeyPrefixSeparatesStoresSharingOneEtcd) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto po = options();
  po.key_prefix = "/tenant-a";
  StorePtr prefixed = open(po);
  StorePtr raw = open(options());
  ASSERT_NE(prefixed, nullptr);
  ASSERT_NE(raw, nullptr);
  RecordingSink sink;
  auto w = prefixed->watch(prefixed->current_revision(), sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(raw->create("/registry/core/pods/x", MakeBytes("outside")));
  auto in = prefixed->create("/registry/core/pods/x", MakeBytes("inside"));
  ASSERT_TRUE(in.has_value());
  ASSERT_TRUE(sink.wait_for_revision(*in));
  auto events = sink.events();
  ASSERT_EQ(events.size(), 1u);  // the write outside the prefix is not this store's
  EXPECT_EQ(events[0].key, "/registry/core/pods/x");
  EXPECT_EQ(Str(events[0].value), "inside");
  auto mine = prefixed->list("/registry/", 0);
  ASSERT_TRUE(mine.has_value());
  ASSERT_EQ(mine->items.size(), 1u);
  EXPECT_EQ(mine->items[0].key, "/registry/core/pods/x");
  EXPECT_EQ(Str(mine->items[0].value), "inside");
  auto all = raw->list("", 0);
  ASSERT_TRUE(all.has_value());
  std::map<std::string, std::string> seen;
  for (auto& kv : all->items) seen[kv.key] = Str(kv.value);
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"/registry/core/pods/x", "outside"},
                                                      {"/tenant-a/registry/core/pods/x", "inside"}}));
  EXPECT_EQ(Str(prefixed->get("/registry/core/pods/x")->value), "inside");
}

// The watch's stream breaks when etcd goes away; it resumes after the last delivered revision.
TEST_F(EtcdStoreTest, WatchResumesAcrossAnEtcdRestartWithoutGapOrRepeat) {
  ASSERT_NO_FATAL_FAILURE(start());
  StorePtr store = open(options());
  ASSERT_NE(store, nullptr);
  Revision start = store->current_revision();
  RecordingSink sink;
  auto w = store->watch(start, sink);
  ASSERT_TRUE(w.has_value());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store->create("/a" + std::to_string(i), MakeBytes("v")));
  ASSERT_TRUE(sink.wait_for_revision(start + 5));
  std::string error;
  ASSERT_TRUE(cluster_->restart(0, &error)) << error;
  Revision last = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = store->create("/b" + std::to_string(i), MakeBytes("v"));  // waits for the member
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    last = *r;
  }
  ASSERT_TRUE(sink.wait_for_revision(last));
  EXPECT_TRUE(Consecutive(sink.events(), start, last));
  EXPECT_FALSE(sink.wait_for_error(std::chrono::milliseconds(0)).has_value());
}

// Three members; the store knows all of them. Killing any one loses no acknowledged write and no
// watched event, and the store keeps working through the other two.
TEST_F(EtcdStoreTest, ThreeMemberClusterSurvivesAMemberKill) {
  ASSERT_NO_FATAL_FAILURE(start({.members = 3}));
  StorePtr store = open(options());
  ASSERT_NE(store, nullptr);
  Revision start = store->current_revision();
  RecordingSink sink;
  auto w = store->watch(start, sink);
  ASSERT_TRUE(w.has_value());
  std::vector<Revision> acked;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) {
      auto r = store->create("/r" + std::to_string(round) + "/" + std::to_string(i), MakeBytes("v"));
      if (r) acked.push_back(*r);
    }
    std::string error;  // at most one member down at a time: the cluster keeps its quorum
    if (round > 0) {
      ASSERT_TRUE(cluster_->restart(round - 1, &error)) << error;
    }
    if (round < 2) cluster_->kill(round);
  }
  ASSERT_GE(acked.size(), 20u);  // a write racing a kill may fail; most must not
  Revision last = store->current_revision();
  ASSERT_TRUE(sink.wait_for_revision(last));
  EXPECT_TRUE(Consecutive(sink.events(), start, last));
  auto l = store->list("/r", 0);
  ASSERT_TRUE(l.has_value());
  std::set<Revision> listed;
  for (auto& kv : l->items) listed.insert(kv.revision);
  for (Revision r : acked) EXPECT_TRUE(listed.count(r)) << "acknowledged write at " << r << " is gone";
}

// A watch that cannot resume because its next revision was compacted while it was disconnected
// ends with Expired (the caller relists), not with a gap.
TEST_F(EtcdStoreTest, WatchResumingIntoCompactedHistoryEndsExpired) {
  ASSERT_NO_FATAL_FAILURE(start({.members = 3}));
  auto wo = options();
  wo.endpoints = {cluster_->endpoint(0)};  // the watch can only reach member 0
  StorePtr watcher = open(wo);
  auto writer_options = options();
  writer_options.endpoints = {cluster_->endpoint(1), cluster_->endpoint(2)};
  StorePtr writer = open(writer_options);
  ASSERT_NE(watcher, nullptr);
  ASSERT_NE(writer, nullptr);
  Revision start = watcher->current_revision();
  RecordingSink sink;
  auto w = watcher->watch(start, sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(writer->create("/a", MakeBytes("1")));
  ASSERT_TRUE(sink.wait_for_revision(start + 1));
  cluster_->kill(0);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(CreateRetrying(*writer, "/b" + std::to_string(i)));
  ASSERT_TRUE(writer->compact(writer->current_revision()).ok());
  std::string error;
  ASSERT_TRUE(cluster_->restart(0, &error)) << error;
  auto err = sink.wait_for_error();
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code(), StatusCode::kExpired) << err->to_string();
  EXPECT_TRUE(Consecutive(sink.events(), start, start + 1));
  EXPECT_EQ(watcher->compacted_revision(), writer->current_revision());
}

TEST_F(EtcdStoreTest, TlsWithClientCertificates) {
  ASSERT_NO_FATAL_FAILURE(start({.tls = true}));
  auto o = options();
  o.ca_file = cluster_->tls_files().ca;
  o.cert_file = cluster_->tls_files().cert;
  o.key_file = cluster_->tls_files().key;
  StorePtr store = open(o);
  ASSERT_NE(store, nullptr);
  RecordingSink sink;
  auto w = store->watch(store->current_revision(), sink);
  ASSERT_TRUE(w.has_value());
  auto r = store->create("/secure", MakeBytes("yes"));
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_TRUE(sink.wait_for_revision(*r));
  EXPECT_EQ(Str(store->get("/secure")->value), "yes");

  // Without a client certificate etcd refuses the handshake; without TLS it cannot be reached.
  auto no_cert = options();
  no_cert.ca_file = cluster_->tls_files().ca;
  no_cert.dial_timeout = std::chrono::milliseconds(1000);
  auto refused = OpenEtcdStore(no_cert);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kUnavailable);
  auto plain = options();
  plain.dial_timeout = std::chrono::milliseconds(1000);
  EXPECT_FALSE(OpenEtcdStore(plain).has_value());
  auto missing = o;
  missing.cert_file = dir_.path() + "/nonexistent.crt";
  auto unreadable = OpenEtcdStore(missing);
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_EQ(unreadable.error().code(), StatusCode::kInternal);
}

// etcd refuses writes once its database exceeds the quota; the store says so plainly, and
// reads still work.
TEST_F(EtcdStoreTest, OutOfSpaceIsAClearUnavailable) {
  ASSERT_NO_FATAL_FAILURE(start({.quota_backend_bytes = "1048576"}));
  StorePtr store = open(options());
  ASSERT_NE(store, nullptr);
  std::string big(100 * 1024, 'x');
  std::optional<Status> failure;
  for (int i = 0; i < 200 && !failure; ++i) {
    auto r = store->create("/big/" + std::to_string(i), MakeBytes(big));
    if (!r) failure = r.error();
  }
  ASSERT_TRUE(failure.has_value()) << "etcd never ran out of space";
  EXPECT_EQ(failure->code(), StatusCode::kUnavailable);
  EXPECT_NE(failure->message().find("database space exceeded"), std::string::npos) << failure->message();
  EXPECT_NE(failure->message().find("NOSPACE"), std::string::npos) << failure->message();
  auto update = store->update("/big/0", MakeBytes("small"), 0);
  ASSERT_FALSE(update.has_value());
  EXPECT_EQ(update.error().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store->get("/big/0").has_value());
  EXPECT_TRUE(store->list("/big/", 0).has_value());
  // The alarm shows in health(), which the server's /readyz and /metrics report.
  ASSERT_TRUE(setpoint::test::Eventually([&] {
    StoreHealth h = store->health();
    return h.reachable && h.alarms == std::vector<std::string>{"NOSPACE"};
  })) << store->health().detail;
}

// A store whose etcd is gone says so in health() within a few seconds, and recovers.
TEST_F(EtcdStoreTest, HealthFollowsEtcdAwayAndBack) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  StorePtr store = open(options());
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(setpoint::test::Eventually([&] { return store->health().ok(); }));
  cluster_->kill(0);
  ASSERT_TRUE(setpoint::test::Eventually([&] { return !store->health().reachable; }, std::chrono::seconds(30)));
  EXPECT_FALSE(store->health().detail.empty());
  ASSERT_TRUE(cluster_->restart(0));
  ASSERT_TRUE(setpoint::test::Eventually([&] { return store->health().ok(); }, std::chrono::seconds(30)));
}

}  // namespace
}  // namespace setpoint::store
