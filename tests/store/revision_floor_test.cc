// The resourceVersion high-water rule (revision_floor.h) and `setpoint migrate` (migrate.h), on
// memory stores: a migrated store hands out only revisions above the source's high-water mark,
// treats older ones as compacted (clients get 410 and relist), keeps the objects' order, and hides
// its own record from lists and watches.
#include <gtest/gtest.h>

#include "store/memory/memory_store.h"
#include "store/migrate.h"
#include "store/revision_floor.h"
#include "store_test_util.h"

namespace setpoint::store {
namespace {

using testing::RecordingSink;

TEST(RevisionFloor, AFreshStoreIsUnchanged) {
  auto raw = NewMemoryStore({});
  Store* before = raw.get();
  auto s = WithRevisionFloor(std::move(raw));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->get(), before) << "no floor recorded: the backend itself";
}

TEST(RevisionFloor, MigrationKeepsEveryRevisionAboveTheSourceHighWaterMark) {
  auto source = NewMemoryStore({});
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(source->create("/registry/core/configmaps/default/c" + std::to_string(i), MakeBytes("{}")));
  ASSERT_TRUE(source->update("/registry/core/configmaps/default/c0", MakeBytes("{\"v\":2}"), 0));
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(source->create("/registry/core/events/default/e" + std::to_string(i), MakeBytes("{}")));
  const Revision high = source->current_revision();

  auto target = NewMemoryStore({});
  auto report = Migrate(*source, *target);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->objects, 45u);
  EXPECT_EQ(report->source_high_water, high);
  EXPECT_GT(report->target_first, high);

  auto s = WithRevisionFloor(std::move(target));
  ASSERT_TRUE(s);
  Store& store = **s;
  auto all = store.list("/registry/");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->items.size(), 45u);
  EXPECT_GT(all->revision, high);
  // Same order as in the source: c1..c4 before c0's update, events last.
  Revision c1 = 0, c0 = 0, e0 = 0;
  for (const auto& kv : all->items) {
    EXPECT_GT(kv.revision, high) << kv.key;
    if (kv.key.ends_with("/c1")) c1 = kv.revision;
    if (kv.key.ends_with("/c0")) c0 = kv.revision;
    if (kv.key.ends_with("/e0")) e0 = kv.revision;
  }
  EXPECT_LT(c1, c0);
  EXPECT_LT(c0, e0);
  EXPECT_EQ(*store.get("/registry/core/configmaps/default/c0")->value, "{\"v\":2}");
  auto whole = store.list("");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->items.size(), 45u) << "the floor record is the store's own, not an object";

  // Revisions up to the floor are gone: a client holding one relists.
  EXPECT_GE(store.compacted_revision(), high);
  RecordingSink sink;
  auto old = store.watch(high - 1, sink);
  ASSERT_FALSE(old);
  EXPECT_EQ(old.error().code(), StatusCode::kExpired);
  auto old_list = store.list("/registry/", high);
  ASSERT_FALSE(old_list);
  EXPECT_EQ(old_list.error().code(), StatusCode::kExpired);
  EXPECT_FALSE(store.update("/registry/core/configmaps/default/c1", MakeBytes("{}"), high - 3));

  // New writes, preconditions and watches all speak the shifted revisions.
  auto w = store.watch(all->revision, sink);
  ASSERT_TRUE(w);
  auto created = store.create("/registry/core/configmaps/default/new", MakeBytes("{}"));
  ASSERT_TRUE(created);
  EXPECT_EQ(*created, all->revision + 1);
  auto updated = store.update("/registry/core/configmaps/default/new", MakeBytes("{\"x\":1}"), *created);
  ASSERT_TRUE(updated) << updated.error().to_string();
  ASSERT_TRUE(sink.wait_for_revision(*updated));
  EXPECT_EQ(store.current_revision(), *updated);
}

TEST(RevisionFloor, RaisingTheFloorAfterARestoreMovesEverythingAboveIt) {
  auto raw = NewMemoryStore({});
  ASSERT_TRUE(raw->create("/registry/core/configmaps/default/a", MakeBytes("{}")));
  // The clients saw revision 1000 before the disaster; the restored store is at 1.
  auto f = RaiseRevisionFloor(*raw, 1000);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->floor, 1000);
  auto s = WithRevisionFloor(std::move(raw));
  ASSERT_TRUE(s);
  EXPECT_GT((*s)->get("/registry/core/configmaps/default/a")->revision, 1000) << "old objects move up too";
  EXPECT_GT((*s)->current_revision(), 1000);
  EXPECT_GT(*(*s)->create("/registry/core/configmaps/default/b", MakeBytes("{}")), 1000);
}

TEST(RevisionFloor, TheFloorOnlyEverRises) {
  auto raw = NewMemoryStore({});
  ASSERT_TRUE(RaiseRevisionFloor(*raw, 1000));
  auto lower = RaiseRevisionFloor(*raw, 10);
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->floor, 1000);
  auto f = ReadRevisionFloor(*raw);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->floor, 1000);
}

TEST(RevisionFloor, MigratingIntoAStoreWithObjectsIsRefused) {
  auto source = NewMemoryStore({});
  ASSERT_TRUE(source->create("/registry/core/configmaps/default/a", MakeBytes("{}")));
  auto target = NewMemoryStore({});
  ASSERT_TRUE(target->create("/registry/core/configmaps/default/z", MakeBytes("{}")));
  auto report = Migrate(*source, *target);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(target->get(kRevisionFloorKey)) << "nothing written";
}

}  // namespace
}  // namespace setpoint::store
