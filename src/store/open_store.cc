#include "store/open_store.h"

#include <filesystem>

#include "store/etcd/etcd_store.h"
#include "store/memory/memory_store.h"
#include "store/revision_floor.h"
#include "store/sqlite/sqlite_store.h"

namespace setpoint::store {

Result<StorePtr> OpenStore(const StoreConfig& config) {
  if (config.spec == "memory") {
    MemoryStoreOptions mo;
    mo.history_max_events = config.history_max_events;
    mo.history_max_age = config.history_max_age;
    return NewMemoryStore(mo);
  }
  if (config.spec == "sqlite") {
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return Err(Status::Internal("cannot create data dir " + config.data_dir + ": " + ec.message()));
    SqliteStoreOptions so;
    so.path = (std::filesystem::path(config.data_dir) / "setpoint.db").string();
    so.history_max_events = config.history_max_events;
    so.history_max_age = config.history_max_age;
    return OpenSqliteStore(so);
  }
  if (config.spec.starts_with("etcd")) {
    auto eo = ParseEtcdStoreUrl(config.spec);
    if (!eo) return Err(eo.error());
    eo->ca_file = config.etcd_ca;
    eo->cert_file = config.etcd_cert;
    eo->key_file = config.etcd_key;
    eo->key_prefix = config.etcd_prefix;
    eo->history_max_events = config.history_max_events;
    eo->compaction_interval = config.etcd_compaction_interval;
    // The watch cache has no way back from a failed store watch but a restart: let the watch
    // keep trying for as long as etcd is away (readyz says so meanwhile) rather than give up.
    eo->watch_retry_timeout = std::chrono::hours(24 * 365);
    auto s = OpenEtcdStore(std::move(*eo));
    if (!s) return Err(s.error());
    // A store migrated or restored into has a revision floor: apply it (revision_floor.h).
    return WithRevisionFloor(std::move(*s));
  }
  return Err(Status::BadRequest("unknown --store \"" + config.spec +
                                "\" (want sqlite, memory or etcd://HOST:PORT[,HOST:PORT...])"));
}

}  // namespace setpoint::store
