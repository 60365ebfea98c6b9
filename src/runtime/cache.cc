#include "setpoint/runtime/cache.h"

#include <charconv>
#include <optional>

namespace setpoint::runtime {
namespace {

const boost::json::object* Meta(const boost::json::object& obj) {
  const auto* m = obj.if_contains("metadata");
  return m && m->is_object() ? &m->as_object() : nullptr;
}

std::string_view MetaString(const boost::json::object& obj, std::string_view field) {
  const auto* m = Meta(obj);
  if (!m) return {};
  const auto* v = m->if_contains(field);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

std::vector<std::string> OwnerUidsOf(const boost::json::object& obj) {
  std::vector<std::string> out;
  const auto* m = Meta(obj);
  const auto* refs = m ? m->if_contains("ownerReferences") : nullptr;
  if (!refs || !refs->is_array()) return out;
  for (const auto& r : refs->as_array()) {
    const auto* uid = r.is_object() ? r.as_object().if_contains("uid") : nullptr;
    if (uid && uid->is_string()) out.emplace_back(uid->as_string());
  }
  return out;
}

std::optional<std::uint64_t> ParseRv(std::string_view rv) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(rv.data(), rv.data() + rv.size(), v);
  if (ec != std::errc() || p != rv.data() + rv.size() || rv.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view ObjectNamespace(const boost::json::object& obj) { return MetaString(obj, "namespace"); }
std::string_view ObjectName(const boost::json::object& obj) { return MetaString(obj, "name"); }
std::string_view ObjectResourceVersion(const boost::json::object& obj) { return MetaString(obj, "resourceVersion"); }

std::string ObjectKey(const boost::json::object& obj) {
  auto ns = ObjectNamespace(obj);
  auto name = ObjectName(obj);
  return ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
}

bool ResourceVersionReached(std::string_view have, std::string_view want) {
  if (want.empty()) return true;
  auto h = ParseRv(have), w = ParseRv(want);
  if (h && w) return *h >= *w;
  return have == want;
}

Cache::Cache() {
  // kNamespaceIndex needs no table: keys are "namespace/name", so a namespace is a key range.
  indexes_[std::string(kOwnerUidIndex)].fn = OwnerUidsOf;
}

void Cache::add_index(std::string name, IndexFunc fn) {
  std::lock_guard lock(mu_);
  Index& idx = indexes_[name];
  idx.fn = std::move(fn);
  idx.values.clear();
  idx.built = false;
}

void Cache::build_locked(Index& idx) const {
  idx.values.clear();
  for (const auto& [key, e] : items_)
    for (auto& v : idx.fn(*e.object)) idx.values[v].insert(key);
  idx.built = true;
}

ObjectPtr Cache::get(std::string_view ns, std::string_view name) const {
  std::string key = ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
  std::lock_guard lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second.object;
}

Result<std::shared_ptr<const void>> Cache::view(std::string_view ns, std::string_view name,
                                                const ViewDecoder& decoder) const {
  std::string key = ns.empty() ? std::string(name) : std::string(ns) + "/" + std::string(name);
  ObjectPtr object;
  {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return std::shared_ptr<const void>();
    if (it->second.view_type == decoder.type) return it->second.view;
    object = it->second.object;
  }
  auto decoded = decoder.decode(object);
  if (!decoded) return decoded;
  std::lock_guard lock(mu_);
  keep_view_locked(key, object, decoder, *decoded);
  return decoded;
}

Result<std::vector<std::shared_ptr<const void>>> Cache::list_views(std::string_view ns,
                                                                   const api::LabelSelector* selector,
                                                                   const ViewDecoder& decoder) const {
  return views_of(list(ns, selector), decoder);
}

Result<std::vector<std::shared_ptr<const void>>> Cache::index_views(std::string_view index, std::string_view value,
                                                                    const ViewDecoder& decoder) const {
  return views_of(by_index(index, value), decoder);
}

Result<std::vector<std::shared_ptr<const void>>> Cache::views_of(const std::vector<ObjectPtr>& objects,
                                                                 const ViewDecoder& decoder) const {
  std::vector<std::string> keys;  // made outside the lock
  keys.reserve(objects.size());
  for (const auto& o : objects) keys.push_back(ObjectKey(*o));
  std::vector<std::shared_ptr<const void>> out(objects.size());
  std::vector<std::size_t> missing;
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < objects.size(); ++i) {
      auto it = items_.find(keys[i]);
      if (it != items_.end() && it->second.object == objects[i] && it->second.view_type == decoder.type)
        out[i] = it->second.view;
      else
        missing.push_back(i);
    }
  }
  if (missing.empty()) return out;
  for (std::size_t i : missing) {
    auto decoded = decoder.decode(objects[i]);
    if (!decoded) return Err(decoded.error());
    out[i] = std::move(*decoded);
  }
  // Kept under one lock, each only if the cache still holds the object it was decoded from.
  std::lock_guard lock(mu_);
  for (std::size_t i : missing) keep_view_locked(keys[i], objects[i], decoder, out[i]);
  return out;
}

void Cache::keep_view_locked(const std::string& key, const ObjectPtr& object, const ViewDecoder& decoder,
                             std::shared_ptr<const void> decoded) const {
  auto it = items_.find(key);
  if (it == items_.end() || it->second.object != object) return;  // changed meanwhile: the next read decodes it
  it->second.view_type = decoder.type;
  it->second.view = std::move(decoded);
}

std::vector<ObjectPtr> Cache::list(std::string_view ns, const api::LabelSelector* selector) const {
  std::vector<ObjectPtr> out;
  auto keep = [&](const ObjectPtr& o) {
    if (!selector) return true;
    const auto* m = Meta(*o);
    const auto* labels = m ? m->if_contains("labels") : nullptr;
    return selector->matches(labels && labels->is_object() ? &labels->as_object() : nullptr);
  };
  std::lock_guard lock(mu_);
  if (ns.empty()) {
    for (const auto& [key, e] : items_)
      if (keep(e.object)) out.push_back(e.object);
    return out;
  }
  const std::string prefix = std::string(ns) + "/";
  for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.starts_with(prefix); ++it)
    if (keep(it->second.object)) out.push_back(it->second.object);
  return out;
}

std::vector<ObjectPtr> Cache::by_index(std::string_view index, std::string_view value) const {
  std::vector<ObjectPtr> out;
  std::lock_guard lock(mu_);
  if (index == kNamespaceIndex && !indexes_.count(index)) {
    const std::string prefix = std::string(value) + "/";
    for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.starts_with(prefix); ++it)
      out.push_back(it->second.object);
    return out;
  }
  auto idx = indexes_.find(index);
  if (idx == indexes_.end()) return out;
  if (!idx->second.built) build_locked(idx->second);
  auto it = idx->second.values.find(value);
  if (it == idx->second.values.end()) return out;
  for (const auto& key : it->second) out.push_back(items_.find(key)->second.object);
  return out;
}

std::size_t Cache::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

std::string Cache::last_sync_rv() const {
  std::lock_guard lock(mu_);
  return rv_;
}

bool Cache::has_synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

bool Cache::wait_for_rv(std::string_view rv, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return rv_cv_.wait_for(lock, timeout, [&] { return synced_ && ResourceVersionReached(rv_, rv); });
}

bool Cache::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return rv_cv_.wait_for(lock, timeout, [&] { return synced_; });
}

void Cache::index_locked(const std::string& key, const boost::json::object& obj, bool add) {
  for (auto& [name, idx] : indexes_) {
    if (!idx.built) continue;
    for (auto& v : idx.fn(obj)) {
      if (add) {
        idx.values[v].insert(key);
        continue;
      }
      auto it = idx.values.find(v);
      if (it == idx.values.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) idx.values.erase(it);
    }
  }
}

void Cache::set_rv_locked(std::string rv) {
  if (!rv.empty()) rv_ = std::move(rv);
  rv_cv_.notify_all();
}

std::vector<CacheDelta> Cache::replace(std::vector<ObjectPtr> objects, std::string rv) {
  std::map<std::string, Entry, std::less<>> fresh;
  for (auto& o : objects) fresh[ObjectKey(*o)].object = std::move(o);
  std::vector<CacheDelta> deltas;
  std::lock_guard lock(mu_);
  for (const auto& [key, old] : items_) {
    auto it = fresh.find(key);
    if (it == fresh.end()) deltas.push_back({CacheDelta::Kind::kDeleted, old.object, nullptr});
  }
  for (const auto& [key, e] : fresh) {
    auto it = items_.find(key);
    if (it == items_.end())
      deltas.push_back({CacheDelta::Kind::kAdded, nullptr, e.object});
    else
      deltas.push_back({CacheDelta::Kind::kUpdated, it->second.object, e.object});
  }
  items_ = std::move(fresh);
  for (auto& [name, idx] : indexes_) idx.values.clear();
  for (const auto& [key, e] : items_) index_locked(key, *e.object, true);
  synced_ = true;
  set_rv_locked(std::move(rv));
  return deltas;
}

std::vector<CacheDelta> Cache::apply(ObjectPtr object, std::string rv) {
  std::string key = ObjectKey(*object);
  std::lock_guard lock(mu_);
  std::vector<CacheDelta> deltas;
  auto it = items_.find(key);
  if (it == items_.end()) {
    deltas.push_back({CacheDelta::Kind::kAdded, nullptr, object});
    index_locked(key, *object, true);
    items_.emplace(key, Entry{std::move(object)});
  } else {
    deltas.push_back({CacheDelta::Kind::kUpdated, it->second.object, object});
    index_locked(key, *it->second.object, false);
    index_locked(key, *object, true);
    it->second = Entry{std::move(object)};
  }
  set_rv_locked(std::move(rv));
  return deltas;
}

std::vector<CacheDelta> Cache::remove(ObjectPtr object, std::string rv) {
  std::string key = ObjectKey(*object);
  std::lock_guard lock(mu_);
  std::vector<CacheDelta> deltas;
  auto it = items_.find(key);
  if (it != items_.end()) {
    index_locked(key, *it->second.object, false);
    items_.erase(it);
    // Handlers get the final state the server sent, which is newer than the cached one.
    deltas.push_back({CacheDelta::Kind::kDeleted, nullptr, nullptr});
    deltas.back().old_object = std::move(object);
  }
  set_rv_locked(std::move(rv));
  return deltas;
}

void Cache::bookmark(std::string rv) {
  std::lock_guard lock(mu_);
  set_rv_locked(std::move(rv));
}

}  // namespace setpoint::runtime
