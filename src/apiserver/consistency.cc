// The cache reads the write verbs judge preconditions against (the cache may lag the store by a
// moment: writes are answered before it applies them), and the answers a write gives, built from
// the bytes it stored.

#include <boost/json.hpp>

#include "apiserver/api_context.h"
#include "apiserver/api_handler.h"
#include "setpoint/common/json.h"

namespace setpoint::apiserver {

namespace json = boost::json;

void ApiHandler::wait_consistent() { cache_.wait_for(store_.current_revision(), std::chrono::seconds(3)); }

store::CachedObjectPtr ApiHandler::get_current(const std::string& key) {
  // Writes are answered before the cache applies them, so "absent from the cache" is only
  // believed once the cache has caught up with the store.
  if (auto obj = cache_.get(key)) return obj;
  wait_consistent();
  return cache_.get(key);
}

store::CachedObjectPtr ApiHandler::get_fresh(const std::string& key) {
  // After losing a write race: the winner is in the store, so the cache has it once it reaches the
  // store's current revision. (Not store_.get(): the sqlite store finds a key that is gone by a
  // scan, since `current` has no index on key.)
  wait_consistent();
  return cache_.get(key);
}

void ApiHandler::note_written(const std::string& key, store::Revision rev) {
  if (!key.starts_with(kNamespacesPrefix)) return;
  store::Revision seen = namespaces_written_.load();
  while (seen < rev && !namespaces_written_.compare_exchange_weak(seen, rev)) {
  }
}

bool ApiHandler::namespaces_current() const { return cache_.revision() >= namespaces_written_.load(); }

store::CachedObjectPtr ApiHandler::answer(const std::string& key, store::Revision rev, const store::Bytes& stored,
                                          json::object& obj) {
  note_written(key, rev);
  // The bytes just stored, with the revision spliced in: what a get will serve, without a second
  // serialisation of the object.
  if (stored)
    if (auto spliced = store::SpliceRevision(key, *stored, rev)) return spliced;
  return written(key, rev, obj);
}

store::CachedObjectPtr ApiHandler::written(const std::string& key, store::Revision rev, json::object& obj) {
  note_written(key, rev);
  // The response is built here rather than waiting for the cache to apply the write: a reader
  // that names this revision (watch, list, PUT precondition) waits for the cache to reach it,
  // and reads without one wait for the cache to reach the store's head.
  json::object& meta = EnsureObject(obj, "metadata");
  meta["resourceVersion"] = std::to_string(rev);
  auto out = std::make_shared<store::CachedObject>();
  out->revision = rev;
  out->adopt(key, json::serialize(obj));
  return out;
}

}  // namespace setpoint::apiserver
