#include "setpoint/runtime/cached_client.h"

#include <algorithm>

#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/types/meta.h"

namespace setpoint::runtime {
namespace {

thread_local std::vector<WriteRecord>* t_scope = nullptr;

std::string KeyOf(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

std::string_view UidOf(const boost::json::object& obj) {
  const auto* meta = GetObject(obj, "metadata");
  return meta ? GetStringOr(*meta, "uid", "") : std::string_view();
}

}  // namespace

WriteScope::WriteScope(std::vector<WriteRecord>& sink) : previous_(t_scope) { t_scope = &sink; }
WriteScope::~WriteScope() { t_scope = previous_; }
void WriteScope::Record(const WriteRecord& record) {
  if (t_scope) t_scope->push_back(record);
}

bool CacheHasSeen(const Informer& informer, const WriteRecord& write) {
  const Cache& cache = informer.cache();
  if (!write.deleted_uid.empty()) {
    const auto slash = write.object_key.find('/');
    const std::string_view key = write.object_key;
    auto obj = slash == std::string::npos ? cache.get({}, key) : cache.get(key.substr(0, slash), key.substr(slash + 1));
    return !obj || UidOf(*obj) != write.deleted_uid;
  }
  if (write.resource_version.empty()) return true;
  if (!cache.has_synced()) return false;
  return ResourceVersionReached(cache.last_sync_rv(), write.resource_version);
}

CachedClient::CachedClient(client::DynamicClient& api, SharedInformers& informers, CachedClientOptions options)
    : api_(api),
      informers_(informers),
      options_(std::move(options)),
      clock_((options_.env ? options_.env : DefaultEnv())->steady()) {}

void CachedClient::record(WriteRecord write) {
  if (write.at == SteadyTime{}) write.at = clock_->now();
  WriteScope::Record(write);
  std::lock_guard lock(mu_);
  // Bounded by age: records past the TTL go, oldest first (an entry whose record was since
  // replaced by a newer write leaves that newer record alone).
  const auto cutoff = write.at - options_.record_ttl;
  while (!by_age_.empty() && by_age_.front().at < cutoff) {
    const Aged& old = by_age_.front();
    if (auto r = writes_.find(old.resource_key); r != writes_.end()) {
      if (auto k = r->second.find(old.object_key); k != r->second.end() && k->second.at == old.at) r->second.erase(k);
      if (r->second.empty()) writes_.erase(r);
    }
    by_age_.pop_front();
  }
  by_age_.push_back({write.at, write.resource_key, write.object_key});
  writes_[write.resource_key][write.object_key] = std::move(write);
}

void CachedClient::forget(const WriteRecord& w) {
  std::lock_guard lock(mu_);
  auto r = writes_.find(w.resource_key);
  if (r == writes_.end()) return;
  auto k = r->second.find(w.object_key);
  if (k != r->second.end() && k->second.resource_version == w.resource_version &&
      k->second.deleted_uid == w.deleted_uid)
    r->second.erase(k);
}

void CachedClient::record_result(const client::GroupVersionResource& gvr, std::string_view ns,
                                 const boost::json::object& obj) {
  WriteRecord w;
  w.resource_key = ResourceKey(gvr);
  const auto* meta = GetObject(obj, "metadata");
  if (GetStringOr(obj, "kind", "") == "Status") {
    // A delete that removed the object at once answers with a Status naming the uid.
    const auto* details = GetObject(obj, "details");
    if (!details) return;
    w.object_key = KeyOf(gvr.namespaced ? ns : std::string_view(), GetStringOr(*details, "name", ""));
    w.deleted_uid = std::string(GetStringOr(*details, "uid", ""));
    if (w.deleted_uid.empty()) return;
  } else {
    if (!meta) return;
    w.object_key = KeyOf(gvr.namespaced ? GetStringOr(*meta, "namespace", ns) : std::string_view(),
                         GetStringOr(*meta, "name", ""));
    w.resource_version = std::string(GetStringOr(*meta, "resourceVersion", ""));
    if (w.resource_version.empty()) return;
  }
  record(std::move(w));
}

bool CachedClient::seen(const WriteRecord& write) {
  if (clock_->now() - write.at <= options_.record_ttl) {
    for (const auto& informer : informers_.live(write.resource_key))
      if (!CacheHasSeen(*informer, write)) return false;
  }
  forget(write);
  return true;
}

Result<SharedInformer> CachedClient::informer_for(const client::GroupVersionResource& gvr) {
  SharedInformer informer;
  {
    std::lock_guard lock(mu_);
    auto& pinned = pinned_[gvr.group + "/" + gvr.version + "/" + gvr.resource];
    if (!pinned) pinned = informers_.get(gvr);
    informer = pinned;
  }
  if (!informer->started())
    return Err(Status::Unavailable("cache of " + ResourceKey(gvr) + " is not started: start the manager first"));
  if (!informer->cache().wait_for_sync(options_.cache_sync_timeout))
    return Err(Status::Timeout("cache of " + ResourceKey(gvr) + " did not sync in time"));
  return informer;
}

Status CachedClient::wait_fresh(const Informer& informer, std::string_view key, std::string_view prefix) {
  std::vector<WriteRecord> pending;
  {
    std::lock_guard lock(mu_);
    auto it = writes_.find(ResourceKey(informer.gvr()));
    if (it == writes_.end()) return Status::Ok();
    const auto cutoff = clock_->now() - options_.record_ttl;
    auto keep = [&](const WriteRecord& w) {
      if (w.at >= cutoff) pending.push_back(w);
    };
    if (!key.empty()) {
      if (auto k = it->second.find(key); k != it->second.end()) keep(k->second);
    } else {
      // Keys are "ns/name": one namespace's records are a contiguous range.
      for (auto k = it->second.lower_bound(prefix); k != it->second.end() && k->first.starts_with(prefix); ++k)
        keep(k->second);
    }
  }
  if (pending.empty()) return Status::Ok();
  const auto deadline = std::chrono::steady_clock::now() + options_.read_your_writes_timeout;
  for (const auto& w : pending) {
    while (!CacheHasSeen(informer, w)) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return Status::Unavailable("the cache of " + w.resource_key +
                                   " has not caught up with this client's write to " + w.object_key + " after " +
                                   std::to_string(options_.read_your_writes_timeout.count()) + " ms");
      // Any change to the cache moves its rv past the current one and wakes this wait.
      std::string next = informer.cache().last_sync_rv();
      if (auto n = std::strtoull(next.c_str(), nullptr, 10); n > 0) next = std::to_string(n + 1);
      informer.cache().wait_for_rv(next, std::min(left, std::chrono::milliseconds(50)));
    }
  }
  // What every cache has seen needs no record any more.
  for (const auto& w : pending) (void)seen(w);
  return Status::Ok();
}

Result<ObjectPtr> CachedClient::get(const client::GroupVersionResource& gvr, std::string_view ns,
                                    std::string_view name) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  const std::string key = KeyOf(gvr.namespaced ? ns : std::string_view(), name);
  if (Status s = wait_fresh(**informer, key, {}); !s.ok()) return Err(std::move(s));
  auto obj = (*informer)->cache().get(gvr.namespaced ? ns : std::string_view(), name);
  if (!obj) {
    const std::string what = gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
    return Err(Status::NotFound(what + " \"" + std::string(name) + "\" not found"));
  }
  return obj;
}

Result<std::vector<ObjectPtr>> CachedClient::list(const client::GroupVersionResource& gvr, std::string_view ns,
                                                  const api::LabelSelector* selector) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  const std::string prefix = ns.empty() ? std::string() : std::string(ns) + "/";
  if (Status s = wait_fresh(**informer, {}, prefix); !s.ok()) return Err(std::move(s));
  return (*informer)->cache().list(ns, selector);
}

Result<std::shared_ptr<const void>> CachedClient::view(const client::GroupVersionResource& gvr, std::string_view ns,
                                                       std::string_view name, const ViewDecoder& decoder) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  const std::string key = KeyOf(gvr.namespaced ? ns : std::string_view(), name);
  if (Status s = wait_fresh(**informer, key, {}); !s.ok()) return Err(std::move(s));
  auto got = (*informer)->cache().view(gvr.namespaced ? ns : std::string_view(), name, decoder);
  if (got && !*got) {
    const std::string what = gvr.group.empty() ? gvr.resource : gvr.resource + "." + gvr.group;
    return Err(Status::NotFound(what + " \"" + std::string(name) + "\" not found"));
  }
  return got;
}

Result<std::vector<std::shared_ptr<const void>>> CachedClient::list_views(const client::GroupVersionResource& gvr,
                                                                          std::string_view ns,
                                                                          const api::LabelSelector* selector,
                                                                          const ViewDecoder& decoder) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  const std::string prefix = ns.empty() ? std::string() : std::string(ns) + "/";
  if (Status s = wait_fresh(**informer, {}, prefix); !s.ok()) return Err(std::move(s));
  return (*informer)->cache().list_views(ns, selector, decoder);
}

Result<std::vector<std::shared_ptr<const void>>> CachedClient::index_views(const client::GroupVersionResource& gvr,
                                                                           std::string_view index,
                                                                           std::string_view value,
                                                                           const ViewDecoder& decoder) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  if (Status s = wait_fresh(**informer, {}, {}); !s.ok()) return Err(std::move(s));
  return (*informer)->cache().index_views(index, value, decoder);
}

Result<std::vector<ObjectPtr>> CachedClient::by_index(const client::GroupVersionResource& gvr, std::string_view index,
                                                      std::string_view value) {
  auto informer = informer_for(gvr);
  if (!informer) return Err(informer.error());
  if (Status s = wait_fresh(**informer, {}, {}); !s.ok()) return Err(std::move(s));
  return (*informer)->cache().by_index(index, value);
}

Result<boost::json::object> CachedClient::create(const client::GroupVersionResource& gvr, std::string_view ns,
                                                 const boost::json::object& obj) {
  auto r = api_.create(gvr, ns, obj);
  if (r) record_result(gvr, ns, *r);
  return r;
}

Result<boost::json::object> CachedClient::update(const client::GroupVersionResource& gvr, std::string_view ns,
                                                 const boost::json::object& obj) {
  auto r = api_.update(gvr, ns, obj);
  if (r) record_result(gvr, ns, *r);
  return r;
}

Result<boost::json::object> CachedClient::update_status(const client::GroupVersionResource& gvr, std::string_view ns,
                                                        const boost::json::object& obj) {
  auto r = api_.update_status(gvr, ns, obj);
  if (r) record_result(gvr, ns, *r);
  return r;
}

Result<boost::json::object> CachedClient::patch(const client::GroupVersionResource& gvr, std::string_view ns,
                                                std::string_view name, client::PatchType type, std::string_view body,
                                                std::string_view subresource) {
  auto r = api_.patch(gvr, ns, name, type, body, subresource);
  if (r) record_result(gvr, ns, *r);
  return r;
}

Result<boost::json::object> CachedClient::remove(const client::GroupVersionResource& gvr, std::string_view ns,
                                                 std::string_view name, const client::DeleteOptions& options) {
  auto r = api_.remove(gvr, ns, name, options);
  if (!r) return r;
  const auto* meta = GetObject(*r, "metadata");
  const bool still_there = meta && meta->contains("deletionTimestamp") && GetArray(*meta, "finalizers") &&
                           !GetArray(*meta, "finalizers")->empty();
  if (GetStringOr(*r, "kind", "") == "Status" || still_there) {
    record_result(gvr, ns, *r);
  } else if (meta) {
    // Some servers answer an immediate delete with the object as it was: it is gone now.
    WriteRecord w;
    w.resource_key = ResourceKey(gvr);
    w.object_key = KeyOf(gvr.namespaced ? ns : std::string_view(), name);
    w.deleted_uid = std::string(UidOf(*r));
    if (!w.deleted_uid.empty()) record(std::move(w));
  }
  return r;
}

}  // namespace setpoint::runtime

namespace setpoint::runtime {

Result<ObjectPtr> DirectClient::get(const client::GroupVersionResource& gvr, std::string_view ns,
                                    std::string_view name) {
  auto got = api_.get(gvr, ns, name);
  if (!got) return Err(got.error());
  return std::make_shared<const boost::json::object>(std::move(*got));
}

Result<std::vector<ObjectPtr>> DirectClient::list(const client::GroupVersionResource& gvr, std::string_view ns,
                                                  const api::LabelSelector* selector) {
  client::ListOptions options;
  if (selector) options.label_selector = selector->to_string();
  std::vector<ObjectPtr> out;
  do {
    auto page = api_.list(gvr, ns, options);
    if (!page) return Err(page.error());
    for (auto& item : page->items) out.push_back(std::make_shared<const boost::json::object>(std::move(item)));
    options.continue_ = page->continue_;
  } while (!options.continue_.empty());
  return out;
}

Result<std::vector<std::shared_ptr<const void>>> ObjectClient::index_views(const client::GroupVersionResource& gvr,
                                                                           std::string_view index,
                                                                           std::string_view value,
                                                                           const ViewDecoder& decoder) {
  if (index != kNamespaceIndex && index != kOwnerUidIndex)
    return Err(Status::Invalid("index " + std::string(index) + " is kept only by a cache"));
  auto items = list(gvr, index == kNamespaceIndex ? value : std::string_view());
  if (!items) return Err(items.error());
  std::vector<std::shared_ptr<const void>> out;
  for (const auto& item : *items) {
    if (index == kOwnerUidIndex) {
      const types::ObjectMeta meta = types::MetaOf(*item);
      if (!meta.owned_by(value)) continue;
    }
    auto decoded = decoder.decode(item);
    if (!decoded) return Err(decoded.error());
    out.push_back(std::move(*decoded));
  }
  return out;
}

}  // namespace setpoint::runtime
