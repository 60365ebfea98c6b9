#include "store/migrate.h"

#include <algorithm>
#include <filesystem>

#include "store/etcd/etcd_store.h"
#include "store/revision_floor.h"
#include "store/sqlite/sqlite_store.h"

namespace setpoint::store {

Result<MigrateReport> Migrate(Store& from, Store& to, const std::string& prefix) {
  auto present = to.list(prefix);
  if (!present) return Err(present.error());
  if (!present->items.empty())
    return Err(Status::AlreadyExists("the target already holds " + std::to_string(present->items.size()) +
                                     " objects under " + prefix + ": migrate into an empty store"));
  auto source = from.list(prefix);
  if (!source) return Err(source.error());
  MigrateReport report;
  report.source_high_water = std::max(source->revision, from.current_revision());
  auto floor = RaiseRevisionFloor(to, report.source_high_water);
  if (!floor) return Err(floor.error());
  // Oldest first: the objects keep their relative order.
  std::stable_sort(source->items.begin(), source->items.end(),
                   [](const KeyValue& a, const KeyValue& b) { return a.revision < b.revision; });
  for (auto& kv : source->items) {
    auto r = to.create(kv.key, kv.value);
    if (!r) return Err(Status(r.error().code(), "copying " + kv.key + ": " + r.error().message()));
    Revision shown = *r + floor->offset;
    if (report.objects == 0) report.target_first = shown;
    report.target_last = shown;
    ++report.objects;
  }
  return report;
}

Result<StorePtr> OpenStoreUrl(const std::string& url, const OpenOptions& options) {
  if (url.starts_with("sqlite:")) {
    std::string dir = url.substr(7);
    SqliteStoreOptions so;
    so.path = (std::filesystem::path(dir) / "setpoint.db").string();
    if (!std::filesystem::exists(so.path)) return Err(Status::NotFound("no setpoint store at " + so.path));
    return OpenSqliteStore(so);
  }
  if (url.starts_with("etcd")) {
    auto eo = ParseEtcdStoreUrl(url);
    if (!eo) return Err(eo.error());
    eo->ca_file = options.ca_file;
    eo->cert_file = options.cert_file;
    eo->key_file = options.key_file;
    eo->key_prefix = options.key_prefix;
    return OpenEtcdStore(std::move(*eo));
  }
  return Err(Status::BadRequest("a store is sqlite:DIR or etcd://HOST:PORT[,HOST:PORT...], got \"" + url + "\""));
}

}  // namespace setpoint::store
