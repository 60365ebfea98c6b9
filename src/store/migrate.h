// `setpoint migrate`: copies every object of one store into another (SQLite into etcd), so a
// cluster moves to a replicated store keeping the resourceVersion high-water rule: the target's
// revision floor is first raised to the source's high-water mark (revision_floor.h), then the
// objects are written in the source's revision order, so every object's new resourceVersion is
// higher than any the source handed out and their relative order is kept.
//
// Run with no server using either store. Free functions; not thread-safe with other writers.
#pragma once

#include <cstddef>
#include <string>

#include "setpoint/store/store.h"

namespace setpoint::store {

struct MigrateReport {
  std::size_t objects = 0;
  Revision source_high_water = 0;
  Revision target_first = 0, target_last = 0;  // revisions as the target's clients see them
};

// Copies every key under `prefix` of `from` into `to`, which must have none (AlreadyExists
// otherwise, with nothing written). `to` is the raw backend: the floor is recorded in it.
Result<MigrateReport> Migrate(Store& from, Store& to, const std::string& prefix = "/registry/");

// Opens "sqlite:DIR" (DIR/setpoint.db, as `setpoint server --data-dir DIR` keeps it) or
// "etcd://HOST:PORT[,...]" / "etcd+https://..." (TLS files as given) as a raw backend.
struct OpenOptions {
  std::string ca_file, cert_file, key_file, key_prefix;
};
Result<StorePtr> OpenStoreUrl(const std::string& url, const OpenOptions& options = {});

}  // namespace setpoint::store
