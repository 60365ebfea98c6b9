// What only the sqlite backend promises: durability across reopen, the revision high-water mark,
// bounded history on disk, WAL mode, group commit, and clean errors for bad files.
#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fault_vfs.h"
#include "store/sqlite/group_committer.h"
#include "store_test_util.h"

namespace setpoint::store {
namespace {

using testing::Consecutive;
using testing::RecordingSink;
using testing::Str;
using testing::TempDir;
using testing::WaitUntil;

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreOptions options() const {
    SqliteStoreOptions o;
    o.path = path_;
    o.maintenance_interval = std::chrono::milliseconds(5);
    return o;
  }
  StorePtr open(const SqliteStoreOptions& o) {
    auto s = OpenSqliteStore(o);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
    return s ? std::move(*s) : nullptr;
  }
  StorePtr open() { return open(options()); }

  // Runs a query on a separate connection, as another process would see the file.
  std::int64_t query_int(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    std::int64_t out = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      out = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  }

  TempDir dir_;
  std::string path_ = dir_.path() + "/store.db";
};

TEST_F(SqliteStoreTest, ReopenKeepsDataAndRevision) {
  {
    auto s = open();
    ASSERT_TRUE(s->create("/a", MakeBytes("1")));
    ASSERT_TRUE(s->create("/b", MakeBytes("2")));
    ASSERT_TRUE(s->update("/a", MakeBytes("3"), 1));
  }
  auto s = open();
  EXPECT_EQ(s->current_revision(), 3);
  auto a = s->get("/a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(Str(a->value), "3");
  EXPECT_EQ(a->revision, 3);
  // The writer's key map was reloaded: preconditions still hold.
  EXPECT_EQ(s->create("/b", MakeBytes("x")).error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s->update("/a", MakeBytes("x"), 1).error().code(), StatusCode::kConflict);
  EXPECT_EQ(*s->create("/c", MakeBytes("4")), 4);
  // History survived too: an old list and a watch from the start still work.
  auto old = s->list("", 1);
  ASSERT_TRUE(old.has_value());
  ASSERT_EQ(old->items.size(), 1u);
  EXPECT_EQ(Str(old->items[0].value), "1");
  RecordingSink sink;
  auto w = s->watch(0, sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(4));
  EXPECT_TRUE(Consecutive(sink.events(), 0, 4));
}

TEST_F(SqliteStoreTest, DeletingTheNewestKeyNeverLetsARevisionBeReused) {
  Revision deleted = 0;
  {
    auto s = open();
    ASSERT_TRUE(s->create("/a", MakeBytes("1")));
    ASSERT_TRUE(s->create("/b", MakeBytes("2")));
    auto d = s->remove("/b", 0);
    ASSERT_TRUE(d.has_value());
    deleted = *d;
    ASSERT_TRUE(s->compact(deleted).ok());  // history no longer shows revision 3 either
  }
  // Even with history gone entirely, the high-water mark in meta holds.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "DELETE FROM history", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open();
  EXPECT_EQ(s->current_revision(), deleted);
  auto r = s->create("/c", MakeBytes("3"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, deleted + 1);
}

TEST_F(SqliteStoreTest, HistoryOnDiskIsBoundedByCount) {
  auto o = options();
  o.history_max_events = 50;
  auto s = open(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i)
        ASSERT_TRUE(s->create("/k/" + std::to_string(t) + "/" + std::to_string(i), MakeBytes("v")));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(s->current_revision(), 400);
  EXPECT_GE(s->compacted_revision(), 350);
  // Compacted rows are deleted in steps by the writer; wait for it to catch up.
  ASSERT_TRUE(WaitUntil([&] { return query_int("SELECT count(*) FROM history") <= 50; }));
  EXPECT_EQ(query_int("SELECT min(rev) FROM history"), s->compacted_revision() + 1);
  EXPECT_EQ(s->list("", s->compacted_revision() - 1).error().code(), StatusCode::kExpired);
  auto l = s->list("", s->compacted_revision());
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(static_cast<Revision>(l->items.size()), s->compacted_revision());
}

TEST_F(SqliteStoreTest, HistoryIsBoundedByAgeWithAnInjectedClock) {
  auto now = std::make_shared<std::atomic<std::int64_t>>(1'700'000'000'000);
  auto o = options();
  o.history_max_age = std::chrono::seconds(600);
  o.clock = [now] { return std::chrono::system_clock::time_point(std::chrono::milliseconds(now->load())); };
  auto s = open(o);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(s->create("/old/" + std::to_string(i), MakeBytes("v")));
  now->fetch_add(300'000);  // 5 minutes later: nothing is old enough yet
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(s->create("/new/" + std::to_string(i), MakeBytes("v")));
  now->fetch_add(400'000);  // 11.7 minutes after the first batch, 6.7 after the second
  ASSERT_TRUE(WaitUntil([&] { return s->compacted_revision() == 10; }));
  EXPECT_EQ(s->list("", 9).error().code(), StatusCode::kExpired);
  EXPECT_TRUE(s->list("", 10).has_value());
  now->fetch_add(600'000);
  ASSERT_TRUE(WaitUntil([&] { return s->compacted_revision() == 15; }));
  ASSERT_TRUE(WaitUntil([&] { return query_int("SELECT count(*) FROM history") == 0; }));
}

TEST_F(SqliteStoreTest, UsesWalModeAndCheckpointsAtClose) {
  {
    auto s = open();
    ASSERT_TRUE(s->create("/a", MakeBytes(std::string(100000, 'x'))));
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    EXPECT_TRUE(std::filesystem::exists(path_ + "-wal"));
  }
  // close() checkpointed: the WAL is empty or gone, and the data is in the main file.
  std::error_code ec;
  auto wal_size = std::filesystem::file_size(path_ + "-wal", ec);
  EXPECT_TRUE(ec || wal_size == 0) << wal_size;
  EXPECT_EQ(query_int("SELECT length(value) FROM current"), 100000);
}

TEST_F(SqliteStoreTest, ConcurrentWritersShareCommits) {
  auto s = open();
  constexpr int kThreads = 32;
  constexpr int kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        ASSERT_TRUE(s->create("/c/" + std::to_string(t) + "/" + std::to_string(i), MakeBytes("v")));
    });
  }
  for (auto& t : threads) t.join();
  auto stats = s->commit_stats();
  EXPECT_EQ(stats.writes, static_cast<std::uint64_t>(kThreads * kEach));
  EXPECT_LT(stats.commits, stats.writes);
  std::uint64_t bucketed = 0;
  for (auto b : stats.commit_micros_buckets) bucketed += b;
  EXPECT_LE(bucketed, stats.commits);
  EXPECT_GT(stats.commit_micros_sum, 0u);
}

// Requests submitted together share one transaction; each sees the ones before it.
TEST_F(SqliteStoreTest, PreconditionsHoldWithinOneBatch) {
  auto committer = GroupCommitter::Open(path_, {});
  ASSERT_TRUE(committer.has_value()) << committer.error().message();
  std::vector<std::pair<Revision, std::size_t>> published;
  (*committer)->start([&](Revision last, EventBatch events) { published.emplace_back(last, events->size()); });
  using Op = WriteRequest::Op;
  struct Spec {
    Op op;
    Revision expected;
    const char* value;
  };
  const Spec specs[] = {
      {Op::kCreate, 0, "v1"},  // 1
      {Op::kCreate, 0, "v2"},  // AlreadyExists
      {Op::kUpdate, 1, "v3"},  // 2: sees the create's revision
      {Op::kUpdate, 1, "v4"},  // Conflict
      {Op::kRemove, 2, ""},    // 3
      {Op::kUpdate, 0, "v5"},  // NotFound
      {Op::kCreate, 0, "v6"},  // 4
  };
  std::vector<std::unique_ptr<WriteRequest>> requests;
  std::vector<WriteRequest*> ptrs;
  for (const Spec& sp : specs) {
    auto r = std::make_unique<WriteRequest>();
    r->op = sp.op;
    r->key = "/k";
    r->value = MakeBytes(sp.value);
    r->expected = sp.expected;
    ptrs.push_back(r.get());
    requests.push_back(std::move(r));
  }
  (*committer)->submit(ptrs);
  EXPECT_EQ(requests[0]->result.value_or(-1), 1);
  EXPECT_EQ(requests[1]->result.error().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(requests[2]->result.value_or(-1), 2);
  EXPECT_EQ(requests[3]->result.error().code(), StatusCode::kConflict);
  EXPECT_EQ(requests[4]->result.value_or(-1), 3);
  EXPECT_EQ(requests[5]->result.error().code(), StatusCode::kNotFound);
  EXPECT_EQ(requests[6]->result.value_or(-1), 4);
  auto stats = (*committer)->stats();
  EXPECT_EQ(stats.commits, 1u);
  EXPECT_EQ(stats.writes, 4u);
  (*committer)->stop();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0], std::make_pair(Revision{4}, std::size_t{4}));
  EXPECT_EQ((*committer)->write(Op::kCreate, "/x", MakeBytes("v"), 0).error().code(), StatusCode::kUnavailable);
  ASSERT_TRUE((*committer)->close_database().ok());
  EXPECT_EQ(query_int("SELECT rev FROM current WHERE key = CAST('/k' AS BLOB)"), 4);
  EXPECT_EQ(query_int("SELECT value FROM meta WHERE name = 'revision'"), 4);
}

// A statement error of one request (here: a value over the length limit) drops that request;
// the rest of the batch is replayed and commits with consecutive revisions.
TEST_F(SqliteStoreTest, AFailingWriteDoesNotFailItsBatch) {
  GroupCommitterOptions o;
  o.max_value_bytes = 1000;
  auto committer = GroupCommitter::Open(path_, o);
  ASSERT_TRUE(committer.has_value()) << committer.error().message();
  std::vector<Revision> published;
  (*committer)->start([&](Revision, EventBatch events) {
    for (const Event& e : *events) published.push_back(e.revision);
  });
  using Op = WriteRequest::Op;
  WriteRequest a, big, c, update_a;
  a.op = big.op = c.op = Op::kCreate;
  a.key = "/a";
  a.value = MakeBytes("small");
  big.key = "/big";
  big.value = MakeBytes(std::string(2000, 'x'));
  c.key = "/c";
  c.value = MakeBytes("small");
  update_a.op = Op::kUpdate;
  update_a.key = "/a";
  update_a.value = MakeBytes("again");
  update_a.expected = 1;
  WriteRequest* batch[] = {&a, &big, &c, &update_a};
  (*committer)->submit(batch);
  EXPECT_EQ(a.result.value_or(-1), 1);
  ASSERT_FALSE(big.result.has_value());
  EXPECT_EQ(big.result.error().code(), StatusCode::kInternal);
  EXPECT_EQ(c.result.value_or(-1), 2);
  EXPECT_EQ(update_a.result.value_or(-1), 3);
  EXPECT_EQ((*committer)->stats().commits, 1u);
  EXPECT_EQ((*committer)->stats().writes, 3u);
  // The dropped create left no trace in the writer's key map either.
  EXPECT_EQ((*committer)->write(Op::kCreate, "/big", MakeBytes("fits"), 0).value_or(-1), 4);
  (*committer)->stop();
  EXPECT_EQ(published, (std::vector<Revision>{1, 2, 3, 4}));
  ASSERT_TRUE((*committer)->close_database().ok());
  EXPECT_EQ(query_int("SELECT count(*) FROM current"), 3);
  EXPECT_EQ(query_int("SELECT count(*) FROM history"), 4);
  EXPECT_EQ(query_int("SELECT value FROM meta WHERE name = 'revision'"), 4);
}

// A COMMIT whose WAL fsync fails fails every write of its batch; the store's revision, key map
// and watchers stay consistent with the file, and later writes carry on.
TEST_F(SqliteStoreTest, FailedCommitFailsTheBatchAndKeepsStateConsistent) {
  testing::FaultVfs vfs;
  {
    auto s = open();
    ASSERT_TRUE(s->create("/a", MakeBytes("1")));
    RecordingSink sink;
    auto w = s->watch(0, sink);
    ASSERT_TRUE(w.has_value());
    vfs.fail_wal_sync(true);
    auto failed = s->create("/b", MakeBytes("lost"));
    auto failed_update = s->update("/a", MakeBytes("lost"), 1);
    vfs.fail_wal_sync(false);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code(), StatusCode::kInternal);
    ASSERT_FALSE(failed_update.has_value());
    EXPECT_GE(vfs.failed_syncs(), 1);
    EXPECT_EQ(s->current_revision(), 1);
    EXPECT_EQ(s->get("/b").error().code(), StatusCode::kNotFound);
    EXPECT_EQ(Str(s->get("/a")->value), "1");
    EXPECT_EQ(s->create("/b", MakeBytes("2")).value_or(-1), 2);
    EXPECT_EQ(s->update("/a", MakeBytes("3"), 1).value_or(-1), 3);
    ASSERT_TRUE(sink.wait_for_revision(3));
    auto events = sink.events();
    EXPECT_TRUE(Consecutive(events, 0, 3));
    EXPECT_EQ(Str(events[1].value), "2");
  }
  auto s = open();
  EXPECT_EQ(s->current_revision(), 3);
  EXPECT_EQ(Str(s->get("/b")->value), "2");
  EXPECT_EQ(Str(s->get("/a")->value), "3");
  EXPECT_EQ(s->list("", 0)->items.size(), 2u);
}

TEST_F(SqliteStoreTest, WatchReadsHistoryFromDiskAfterReopen) {
  {
    auto s = open();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(s->create("/k" + std::to_string(i), MakeBytes("v" + std::to_string(i))));
    ASSERT_TRUE(s->remove("/k3", 0));
  }
  auto s = open();
  RecordingSink sink;
  auto w = s->watch(5, sink);
  ASSERT_TRUE(w.has_value());
  ASSERT_TRUE(sink.wait_for_revision(21));
  ASSERT_TRUE(s->create("/live", MakeBytes("x")));
  ASSERT_TRUE(sink.wait_for_revision(22));
  auto events = sink.events();
  EXPECT_TRUE(Consecutive(events, 5, 22));
  EXPECT_EQ(events[0].key, "/k5");
  EXPECT_EQ(Str(events[0].value), "v5");
  EXPECT_EQ(events[15].type, EventType::kDelete);
  EXPECT_EQ(Str(events[15].value), "v3");
}

// Renders events as "rev type key=value" lines, to compare whole histories at once.
std::vector<std::string> Lines(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    const char* type = e.type == EventType::kCreate ? "create" : e.type == EventType::kUpdate ? "update" : "delete";
    out.push_back(std::to_string(e.revision) + " " + type + " " + e.key + "=" + Str(e.value));
  }
  return out;
}

// The writes the tests below make: every kind of successor (update, delete, none) for a create
// and for an update, and a key deleted and created again.
void WriteMixedHistory(Store& s) {
  ASSERT_TRUE(s.create("/a", MakeBytes("a1")));     // 1
  ASSERT_TRUE(s.update("/a", MakeBytes("a2"), 0));  // 2
  ASSERT_TRUE(s.create("/b", MakeBytes("b1")));     // 3
  ASSERT_TRUE(s.update("/a", MakeBytes("a3"), 0));  // 4
  ASSERT_TRUE(s.remove("/b", 0));                   // 5
  ASSERT_TRUE(s.create("/c", MakeBytes("c1")));     // 6
  ASSERT_TRUE(s.create("/b", MakeBytes("b2")));     // 7
  ASSERT_TRUE(s.update("/b", MakeBytes("b3"), 0));  // 8
  ASSERT_TRUE(s.remove("/b", 0));                   // 9
}

const std::vector<std::string> kMixedHistory = {"1 create /a=a1", "2 update /a=a2", "3 create /b=b1",
                                                "4 update /a=a3", "5 delete /b=b1", "6 create /c=c1",
                                                "7 create /b=b2", "8 update /b=b3", "9 delete /b=b3"};

// Every event after `after`, up to `to`.
std::vector<std::string> ReplayFromDisk(Store& s, Revision after, Revision to) {
  RecordingSink sink;
  auto w = s.watch(after, sink);
  EXPECT_TRUE(w.has_value());
  EXPECT_TRUE(sink.wait_for_revision(to));
  return Lines(sink.events());
}

TEST_F(SqliteStoreTest, EachValueIsWrittenOnceAndEveryEventStillHasIt) {
  {
    auto s = open();
    WriteMixedHistory(*s);
  }
  // On disk: creates and updates leave their value in `current` or in their successor's row; only
  // an update's prev_value and a delete's value hold values in history.
  EXPECT_EQ(query_int("SELECT count(*) FROM history WHERE op != 2 AND value IS NOT NULL"), 0);
  EXPECT_EQ(query_int("SELECT count(*) FROM history WHERE prev_value IS NOT NULL"), 3);
  EXPECT_EQ(query_int("SELECT value FROM meta WHERE name = 'schema_version'"), 3);
  auto s = open();  // reopened: the watch below replays from the file, not from memory
  EXPECT_EQ(ReplayFromDisk(*s, 0, 9), kMixedHistory);
  EXPECT_EQ(std::vector<std::string>(kMixedHistory.begin() + 5, kMixedHistory.end()), ReplayFromDisk(*s, 5, 9));
  // Lists at every past revision rewind through the same rows.
  auto at = [&](Revision rev) {
    std::vector<std::string> out;
    auto listed = s->list("/", rev);
    EXPECT_TRUE(listed.has_value());
    if (listed) {
      for (const auto& kv : listed->items) out.push_back(kv.key + "=" + Str(kv.value));
    }
    return out;
  };
  EXPECT_EQ(at(3), (std::vector<std::string>{"/a=a2", "/b=b1"}));
  EXPECT_EQ(at(5), (std::vector<std::string>{"/a=a3"}));
  EXPECT_EQ(at(8), (std::vector<std::string>{"/a=a3", "/b=b3", "/c=c1"}));
  EXPECT_EQ(at(9), (std::vector<std::string>{"/a=a3", "/c=c1"}));
}

// A file written by schema version 1 (every history row carries its value; `current` keyed by its
// key) opens, is upgraded to version 3, reads the same, and takes new writes in the new layout.
// Its rows are stamped with the time of the test: older ones would be compacted by age (600 s) as
// soon as the maintenance thread runs, and the replays below would find them gone.
TEST_F(SqliteStoreTest, OpensAVersionOneFile) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const char* v1 = R"sql(
      PRAGMA journal_mode=WAL;
      CREATE TEMP TABLE now(ms INTEGER);
      INSERT INTO now VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
      CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE current(key BLOB PRIMARY KEY, rev INTEGER NOT NULL, value BLOB NOT NULL);
      CREATE TABLE history(rev INTEGER PRIMARY KEY, ts INTEGER NOT NULL, op INTEGER NOT NULL,
                           prev_rev INTEGER NOT NULL, key BLOB NOT NULL, value BLOB, prev_value BLOB);
      INSERT INTO meta VALUES ('schema_version', 1), ('revision', 5), ('compacted', 0);
      INSERT INTO current VALUES (CAST('/a' AS BLOB), 4, CAST('a3' AS BLOB));
      INSERT INTO history VALUES
        (1, (SELECT ms FROM now), 0, 0, CAST('/a' AS BLOB), CAST('a1' AS BLOB), NULL),
        (2, (SELECT ms FROM now), 1, 1, CAST('/a' AS BLOB), CAST('a2' AS BLOB), CAST('a1' AS BLOB)),
        (3, (SELECT ms FROM now), 0, 0, CAST('/b' AS BLOB), CAST('b1' AS BLOB), NULL),
        (4, (SELECT ms FROM now), 1, 2, CAST('/a' AS BLOB), CAST('a3' AS BLOB), CAST('a2' AS BLOB)),
        (5, (SELECT ms FROM now), 2, 3, CAST('/b' AS BLOB), CAST('b1' AS BLOB), NULL);
    )sql";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
  }
  {
    auto s = open();
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->current_revision(), 5);
    EXPECT_EQ(Str(s->get("/a")->value), "a3");
    ASSERT_TRUE(s->create("/c", MakeBytes("c1")));     // 6
    ASSERT_TRUE(s->create("/b", MakeBytes("b2")));     // 7
    ASSERT_TRUE(s->update("/b", MakeBytes("b3"), 0));  // 8
    ASSERT_TRUE(s->remove("/b", 0));                   // 9
  }
  EXPECT_EQ(query_int("SELECT value FROM meta WHERE name = 'schema_version'"), 3);
  // Version 3: `current` was copied into a table without the key's index.
  EXPECT_EQ(
      query_int("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'current' AND name LIKE 'sqlite_autoindex%'"), 0);
  EXPECT_EQ(query_int("SELECT count(*) FROM current"), 2);
  auto s = open();
  EXPECT_EQ(ReplayFromDisk(*s, 0, 9), kMixedHistory);
  EXPECT_EQ(Str(s->get("/a")->value), "a3");
  EXPECT_EQ(Str(s->get("/c")->value), "c1");
  std::vector<std::string> at3;
  auto listed = s->list("/", 3);
  ASSERT_TRUE(listed.has_value());
  for (const auto& kv : listed->items) at3.push_back(kv.key + "=" + Str(kv.value));
  EXPECT_EQ(at3, (std::vector<std::string>{"/a=a2", "/b=b1"}));
}

TEST_F(SqliteStoreTest, RefusesAFileFromANewerVersion) {
  { auto s = open(); }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE meta SET value = 4 WHERE name = 'schema_version'", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = OpenSqliteStore(options());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), StatusCode::kInternal);
  EXPECT_NE(s.error().message().find("schema version 4"), std::string::npos) << s.error().message();
}

// The writer's key map holds hashes of keys (key_revisions.h). Here "/x1" and "/y1" share one, so
// the map's answer for "/y1" is first "/x1"'s revision: every outcome must still be exact.
TEST_F(SqliteStoreTest, PreconditionsStayExactWhenKeysShareAHash) {
  auto o = options();
  o.key_hash = [](std::string_view k) -> std::uint64_t { return k.empty() ? 0 : k.back(); };
  {
    auto s = open(o);
    ASSERT_EQ(s->create("/x1", MakeBytes("x")).value_or(0), 1);
    for (Revision expected : {Revision{0}, Revision{1}, Revision{99}}) {
      auto u = s->update("/y1", MakeBytes("y"), expected);
      ASSERT_FALSE(u.has_value()) << "update of a missing key with expected " << expected;
      EXPECT_EQ(u.error().code(), StatusCode::kNotFound) << u.error().message();
    }
    auto r = s->remove("/y1", 0);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kNotFound);
    ASSERT_EQ(s->create("/y1", MakeBytes("y")).value_or(0), 2) << "failures consume no revision";
    auto stale = s->update("/x1", MakeBytes("x2"), 2);
    ASSERT_FALSE(stale.has_value());
    EXPECT_EQ(stale.error().code(), StatusCode::kConflict) << stale.error().message();
    EXPECT_EQ(s->update("/x1", MakeBytes("x2"), 1).value_or(0), 3);
    auto again = s->create("/x1", MakeBytes("x3"));
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().code(), StatusCode::kAlreadyExists);
    EXPECT_EQ(s->remove("/y1", 2).value_or(0), 4);
  }
  auto s = open(o);  // the map is rebuilt from the file, collisions and all
  EXPECT_EQ(s->get("/x1")->revision, 3);
  EXPECT_EQ(Str(s->get("/x1")->value), "x2");
  EXPECT_EQ(s->get("/y1").error().code(), StatusCode::kNotFound);
  EXPECT_EQ(s->create("/y1", MakeBytes("y2")).value_or(0), 5);
  EXPECT_EQ(s->update("/y1", MakeBytes("y3"), 5).value_or(0), 6);
  EXPECT_EQ(s->update("/x1", MakeBytes("x4"), 3).value_or(0), 7);
}

TEST_F(SqliteStoreTest, BadPathsGiveCleanErrors) {
  SqliteStoreOptions o;
  o.path = "";
  EXPECT_EQ(OpenSqliteStore(o).error().code(), StatusCode::kInvalid);
  o.path = dir_.path() + "/no/such/dir/store.db";
  auto missing_dir = OpenSqliteStore(o);
  ASSERT_FALSE(missing_dir.has_value());
  EXPECT_EQ(missing_dir.error().code(), StatusCode::kInternal);
  o.path = dir_.path();  // a directory
  auto directory = OpenSqliteStore(o);
  ASSERT_FALSE(directory.has_value());
  EXPECT_EQ(directory.error().code(), StatusCode::kInternal);
}

TEST_F(SqliteStoreTest, CorruptFileGivesCleanError) {
  {
    std::ofstream f(path_, std::ios::binary);
    for (int i = 0; i < 1000; ++i) f << "this is not a database, just some text\n";
  }
  auto s = OpenSqliteStore(options());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), StatusCode::kInternal);
  EXPECT_NE(s.error().message().find("not a database"), std::string::npos) << s.error().message();
}

TEST_F(SqliteStoreTest, ForeignDatabaseGivesCleanError) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE history(x TEXT)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = OpenSqliteStore(options());
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code(), StatusCode::kInternal);
}

TEST_F(SqliteStoreTest, SecondOpenOfTheSameFileIsRefused) {
  auto first = open();
  auto second = OpenSqliteStore(options());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
  first.reset();
  EXPECT_NE(open(), nullptr);
}

// A child process acknowledges writes and is killed with SIGKILL; every acknowledged write is
// there when the parent opens the file.
TEST_F(SqliteStoreTest, AcknowledgedWritesSurviveSigkill) {
  int acks[2];
  ASSERT_EQ(::pipe(acks), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(acks[0]);
    auto s = OpenSqliteStore(options());
    if (!s) ::_exit(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0;; ++i) {
          auto r = (*s)->create("/k/" + std::to_string(t) + "/" + std::to_string(i), MakeBytes("v"));
          if (!r) ::_exit(3);
          Revision rev = *r;
          if (::write(acks[1], &rev, sizeof rev) != sizeof rev) ::_exit(4);
        }
      });
    }
    for (auto& t : threads) t.join();
    ::_exit(0);
  }
  ::close(acks[1]);
  std::vector<Revision> acked;
  Revision rev = 0;
  while (acked.size() < 300 && ::read(acks[0], &rev, sizeof rev) == sizeof rev) acked.push_back(rev);
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  while (::read(acks[0], &rev, sizeof rev) == sizeof rev) acked.push_back(rev);
  ::close(acks[0]);
  ASSERT_GE(acked.size(), 300u);
  auto s = open();
  Revision newest = *std::max_element(acked.begin(), acked.end());
  EXPECT_GE(s->current_revision(), newest);
  auto l = s->list("", newest);
  ASSERT_TRUE(l.has_value());
  EXPECT_GE(l->items.size(), acked.size());
  EXPECT_GE(s->list("", 0)->items.size(), acked.size());
}

}  // namespace
}  // namespace setpoint::store
