// SqliteStore: the embedded, durable Store backend (the default for `setpoint server`).
//
// One SQLite database file in WAL mode. Writes go through a GroupCommitter: one writer thread
// batches concurrent writes into one transaction and fsyncs the WAL (synchronous=FULL) before
// any of them is acknowledged, so nothing acknowledged is lost on kill -9 or power cut. Reads
// (get, list) use a small pool of separate read connections and never wait for the writer.
// Watches are served by a WatchHub: recent events from memory, older ones from `history`.
// A maintenance thread runs WAL checkpoints and age-based compaction off the write path.
// The file is locked (<path>.lock) against a second store opening it.
//
// Thread-safe, like every Store. Design and invariants: docs/design/store.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "setpoint/common/status.h"
#include "setpoint/store/store.h"

namespace setpoint::store {

struct SqliteStoreOptions {
  std::string path;  // the database file; created if missing
  // History is compacted to the tighter of the two bounds; 0 turns a bound off.
  std::chrono::seconds history_max_age{600};
  std::size_t history_max_events = 100000;
  std::size_t max_batch = 1024;  // most writes committed in one transaction
  // How often the maintenance thread checkpoints the WAL and applies history_max_age.
  std::chrono::milliseconds maintenance_interval{1000};
  // The clock history ages are measured with; empty means std::chrono::system_clock::now.
  // Tests inject one to age history without sleeping.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Test seam: the hash of the writer's key map (null: the real one). Tests make keys collide to
  // check that preconditions stay exact (store/sqlite/key_revisions.h).
  std::uint64_t (*key_hash)(std::string_view) = nullptr;
};

// Opens (or creates) the store. Errors: kInvalid for an empty path; kUnavailable if another
// store holds the file; kInternal with SQLite's message if the file cannot be opened or is not
// a setpoint database.
Result<StorePtr> OpenSqliteStore(const SqliteStoreOptions& options);

}  // namespace setpoint::store
