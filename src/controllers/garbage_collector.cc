#include "controllers/garbage_collector.h"

#include <spdlog/spdlog.h>

#include "setpoint/api/finalizers.h"
#include "setpoint/common/json.h"
#include "setpoint/runtime/cache.h"
#include "setpoint/runtime/object_helpers.h"

namespace setpoint::controllers {
namespace {

namespace json = boost::json;

std::string GroupOf(std::string_view api_version) {
  const auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(api_version.substr(0, slash));
}

bool HasFinalizer(const json::object& meta, std::string_view f) {
  if (const json::array* a = GetArray(meta, "finalizers"))
    for (const auto& v : *a)
      if (v.is_string() && v.get_string() == f) return true;
  return false;
}

// Resources the collector leaves alone: Events are never owners or dependents worth a watch
// (upstream ignores them too).
bool Ignored(const client::GroupVersionResource& gvr) {
  return (gvr.group.empty() && gvr.resource == "events") || (gvr.group == "events.k8s.io" && gvr.resource == "events");
}

}  // namespace

GarbageCollector::GarbageCollector(runtime::Manager& manager, client::RestClient& rest, GarbageCollectorOptions options)
    : manager_(manager), rest_(rest), api_(rest), options_(options), queue_(std::make_unique<runtime::WorkQueue>()) {}

GarbageCollector::~GarbageCollector() {
  queue_->shutdown();
  detach_all();
}

void GarbageCollector::detach_all() {
  // Stopping a watcher joins its thread, whose sink takes mu_: never stop one holding mu_.
  std::map<std::string, Source> sources;
  {
    std::lock_guard lock(mu_);
    sources.swap(sources_);
  }
  for (auto& [k, s] : sources) s.watcher->stop();
}

std::size_t GarbageCollector::graph_size() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

void GarbageCollector::run(std::stop_token stop) {
  refresh_sources();
  // Workers start once every resource's first list is in the graph, so the dependents named
  // there are known before any owner is judged.
  {
    std::unique_lock lock(mu_);
    synced_cv_.wait(lock, stop, [&] { return all_synced_locked(); });
  }
  std::vector<std::jthread> workers;
  for (int i = 0; i < options_.workers; ++i) workers.emplace_back([this] { work(); });
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(rediscover_mu_);
      rediscover_cv_.wait_for(lock, stop, options_.discovery_interval, [&] { return rediscover_; });
      rediscover_ = false;
    }
    if (!stop.stop_requested()) refresh_sources();
  }
  queue_->shutdown();
  workers.clear();
  detach_all();
}

void GarbageCollector::refresh_sources() {
  auto found = client::DiscoverAll(rest_);
  if (!found) {
    spdlog::warn("garbage collector: discovery failed: {}", found.error().to_string());
    return;
  }
  std::map<std::string, client::GroupVersionResource> wanted;
  std::map<std::string, client::GroupVersionResource> kinds;
  for (const auto& r : *found) {
    kinds[r.gvr.group + "/" + r.gvr.kind] = r.gvr;
    if (Ignored(r.gvr) || !r.has_verb("list") || !r.has_verb("watch") || !r.has_verb("delete")) continue;
    wanted[r.gvr.group + "/" + r.gvr.resource] = r.gvr;
  }
  std::vector<std::pair<std::string, client::GroupVersionResource>> added;
  std::vector<Source> removed;
  {
    std::lock_guard lock(mu_);
    kinds_ = std::move(kinds);
    for (auto it = sources_.begin(); it != sources_.end();) {
      if (wanted.count(it->first)) {
        ++it;
      } else {
        removed.push_back(std::move(it->second));
        it = sources_.erase(it);
      }
    }
    for (auto& [k, gvr] : wanted)
      if (!sources_.count(k)) added.emplace_back(k, gvr);
  }
  for (auto& s : removed) s.watcher->stop();
  for (auto& [key, gvr] : added) {
    auto shared = std::make_shared<const client::GroupVersionResource>(gvr);
    runtime::WatcherOptions wo;
    wo.gvr = gvr;
    wo.watch_list = true;
    wo.metadata_only = true;  // owner references, finalizers and deletion state are all it reads
    auto watcher = std::make_unique<runtime::Watcher>(
        api_, std::move(wo), [this, key, shared](runtime::WatcherEvent e) { on_event(key, shared, std::move(e)); });
    runtime::Watcher* w = watcher.get();
    {
      std::lock_guard lock(mu_);
      sources_[key] = Source{shared, std::move(watcher)};
    }
    w->start();
  }
}

void GarbageCollector::on_event(const std::string& source, const GvrPtr& gvr, runtime::WatcherEvent event) {
  using Kind = runtime::WatcherEvent::Kind;
  switch (event.kind) {
    case Kind::kRestarted: {
      // The complete list: nodes of this resource it no longer has were deleted meanwhile.
      std::set<std::string> missing;
      {
        std::lock_guard lock(mu_);
        for (const auto& [uid, node] : nodes_)
          if (node.gvr->group == gvr->group && node.gvr->resource == gvr->resource) missing.insert(uid);
      }
      for (const auto& o : event.objects) missing.erase(observe(*o, gvr));
      for (const auto& uid : missing) forget(uid);
      {
        std::lock_guard lock(mu_);
        if (auto it = sources_.find(source); it != sources_.end()) it->second.synced = true;
      }
      synced_cv_.notify_all();
      break;
    }
    case Kind::kApplied:
      observe(*event.object, gvr);
      break;
    case Kind::kDeleted:
      if (const json::object* meta = GetObject(*event.object, "metadata"))
        forget(std::string(GetStringOr(*meta, "uid", "")));
      break;
    case Kind::kBookmark:
      break;
  }
}

bool GarbageCollector::wanted_locked(const Node& node) const {
  return !node.owners.empty() || node.foreground || node.orphan || dependents_.count(node.uid) > 0;
}

void GarbageCollector::unlink_locked(const Node& node) {
  for (const auto& o : node.owners) {
    auto it = dependents_.find(o.uid);
    if (it == dependents_.end()) continue;
    it->second.erase(node.uid);
    if (!it->second.empty()) continue;
    dependents_.erase(it);
    // Never `node` itself: a node with owners is wanted.
    if (auto owner = nodes_.find(o.uid); owner != nodes_.end() && !wanted_locked(owner->second)) nodes_.erase(owner);
  }
}

std::vector<GarbageCollector::OwnerRef> GarbageCollector::OwnersOf(const json::object& meta) {
  std::vector<OwnerRef> out;
  if (const json::array* refs = GetArray(meta, "ownerReferences")) {
    for (const auto& r : *refs) {
      if (!r.is_object()) continue;
      const auto& ro = r.as_object();
      OwnerRef ref;
      ref.api_version = std::string(GetStringOr(ro, "apiVersion", ""));
      ref.kind = std::string(GetStringOr(ro, "kind", ""));
      ref.name = std::string(GetStringOr(ro, "name", ""));
      ref.uid = std::string(GetStringOr(ro, "uid", ""));
      ref.controller = ro.contains("controller") && ro.at("controller").is_bool() && ro.at("controller").get_bool();
      ref.block = ro.contains("blockOwnerDeletion") && ro.at("blockOwnerDeletion").is_bool() &&
                  ro.at("blockOwnerDeletion").get_bool();
      if (!ref.uid.empty()) out.push_back(std::move(ref));
    }
  }
  return out;
}

std::string GarbageCollector::observe(const json::object& obj, const GvrPtr& shared) {
  const client::GroupVersionResource& gvr = *shared;
  const json::object* meta = GetObject(obj, "metadata");
  if (!meta) return {};
  if (gvr.group == "apiextensions.k8s.io" && gvr.resource == "customresourcedefinitions") {
    // A new or changed CRD: its resource may be served now; look again without waiting.
    {
      std::lock_guard lock(rediscover_mu_);
      rediscover_ = true;
    }
    rediscover_cv_.notify_all();
  }
  Node n;
  n.gvr = shared;
  n.ns = std::string(GetStringOr(*meta, "namespace", ""));
  n.name = std::string(GetStringOr(*meta, "name", ""));
  n.uid = std::string(GetStringOr(*meta, "uid", ""));
  if (n.uid.empty()) return {};
  n.deleting = runtime::deletion_requested(obj);
  n.foreground = n.deleting && HasFinalizer(*meta, api::kForegroundFinalizer);
  n.orphan = n.deleting && HasFinalizer(*meta, api::kOrphanFinalizer);
  n.owners = OwnersOf(*meta);
  std::string uid = n.uid;
  std::vector<std::string> work;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(n.uid);
    const bool is_new = it == nodes_.end();
    if (is_new && !wanted_locked(n)) return uid;  // owns nothing, owned by nothing: not the collector's
    bool owners_changed = is_new;
    bool became_foreground = n.foreground, became_orphan = n.orphan;
    if (!is_new) {
      const Node& old = it->second;
      owners_changed = old.owners.size() != n.owners.size();
      for (std::size_t i = 0; !owners_changed && i < n.owners.size(); ++i)
        owners_changed = old.owners[i].uid != n.owners[i].uid || old.owners[i].block != n.owners[i].block;
      became_foreground = n.foreground && !old.foreground;
      became_orphan = n.orphan && !old.orphan;
      // An owner waiting in the foreground that this object no longer names has one dependent less.
      for (const auto& o : old.owners)
        if (auto owner = nodes_.find(o.uid); owner != nodes_.end() && owner->second.foreground)
          work.push_back("f:" + o.uid);
      unlink_locked(old);
    }
    for (const auto& o : n.owners) dependents_[o.uid].insert(n.uid);
    // A dependent: are its owners still there? (New, or its references changed.)
    if (!n.owners.empty() && owners_changed) work.push_back("d:" + n.uid);
    // An owner being deleted with a policy: its dependents need it.
    if (n.orphan && (became_orphan || is_new)) work.push_back("o:" + n.uid);
    if (n.foreground && (became_foreground || is_new)) work.push_back("f:" + n.uid);
    // A dependent changed while an owner waits for it in the foreground: the owner may be done.
    for (const auto& o : n.owners)
      if (auto owner = nodes_.find(o.uid); owner != nodes_.end() && owner->second.foreground)
        work.push_back("f:" + o.uid);
    if (wanted_locked(n)) {
      nodes_[n.uid] = std::move(n);
    } else {
      nodes_.erase(n.uid);  // lost its owners and nobody names it: it leaves the graph
    }
  }
  for (auto& w : work) enqueue(std::move(w));
  return uid;
}

void GarbageCollector::forget(const std::string& uid) {
  if (uid.empty()) return;
  std::vector<std::string> work;
  {
    std::lock_guard lock(mu_);
    // Its dependents lost an owner. Remembered as absent (uids are never reused), which also
    // stops a lookup that raced with this deletion from tracking it again.
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& dep : d->second) work.push_back("d:" + dep);
      remember_absent_locked(uid);
    }
    auto it = nodes_.find(uid);
    if (it != nodes_.end()) {
      // Owners waiting in the foreground lost a dependent.
      for (const auto& o : it->second.owners)
        if (auto owner = nodes_.find(o.uid); owner != nodes_.end() && owner->second.foreground)
          work.push_back("f:" + o.uid);
      unlink_locked(it->second);
      nodes_.erase(uid);
    }
  }
  for (auto& w : work) enqueue(std::move(w));
}

void GarbageCollector::enqueue(std::string item) { queue_->add(item); }

bool GarbageCollector::all_synced() const {
  std::lock_guard lock(mu_);
  return all_synced_locked();
}

bool GarbageCollector::all_synced_locked() const {
  for (const auto& [k, s] : sources_)
    if (!s.synced) return false;
  return true;
}

void GarbageCollector::work() {
  while (auto item = queue_->get()) {
    // A resource found after the start is still listing: its objects (a dependent, an owner) may
    // not be in the graph yet, and an owner would look absent. Wait until it has.
    if (!all_synced()) {
      queue_->add_after(*item, std::chrono::milliseconds(50));
      queue_->done(*item);
      continue;
    }
    Status s = process(*item);
    if (s.ok()) {
      queue_->forget(*item);
    } else {
      errors_.fetch_add(1);
      spdlog::debug("garbage collector: {}: {}", *item, s.to_string());
      queue_->add_rate_limited(*item);
    }
    queue_->done(*item);
  }
}

Status GarbageCollector::process(const std::string& item) {
  const std::string uid = item.substr(2);
  switch (item[0]) {
    case 'd':
      return attempt_to_delete(uid);
    case 'o':
      return orphan_dependents(uid);
    case 'f':
      return finish_foreground(uid);
  }
  return Status::Ok();
}

bool GarbageCollector::known_absent(const std::string& uid) {
  std::lock_guard lock(mu_);
  auto it = absent_.find(uid);
  if (it == absent_.end()) return false;
  absent_lru_.splice(absent_lru_.begin(), absent_lru_, it->second);
  return true;
}

void GarbageCollector::remember_absent(const std::string& uid) {
  std::lock_guard lock(mu_);
  remember_absent_locked(uid);
}

void GarbageCollector::remember_absent_locked(const std::string& uid) {
  if (absent_.count(uid)) return;
  absent_lru_.push_front(uid);
  absent_[uid] = absent_lru_.begin();
  while (absent_.size() > options_.absent_owner_cache) {
    absent_.erase(absent_lru_.back());
    absent_lru_.pop_back();
  }
}

std::optional<client::GroupVersionResource> GarbageCollector::resource_for(std::string_view api_version,
                                                                           std::string_view kind) const {
  std::lock_guard lock(mu_);
  auto it = kinds_.find(GroupOf(api_version) + "/" + std::string(kind));
  if (it == kinds_.end()) return std::nullopt;
  return it->second;
}

void GarbageCollector::warn_invalid_namespace(const Node& dependent, const OwnerRef& ref) {
  {
    std::lock_guard lock(mu_);
    if (!warned_.insert(dependent.uid + "/" + ref.uid).second) return;
  }
  json::object involved{{"apiVersion", dependent.gvr->api_version()},
                        {"kind", dependent.gvr->kind},
                        {"metadata", {{"name", dependent.name}, {"uid", dependent.uid}}}};
  if (!dependent.ns.empty()) involved["metadata"].as_object()["namespace"] = dependent.ns;
  manager_.recorder().event(involved, "Warning", "OwnerRefInvalidNamespace",
                            "ownerRef [" + ref.api_version + "/" + ref.kind + ", namespace: " + dependent.ns +
                                ", name: " + ref.name + ", uid: " + ref.uid + "] does not exist in namespace \"" +
                                dependent.ns + "\"");
}

void GarbageCollector::track_owner(const json::object& owner, const client::GroupVersionResource& gvr) {
  const json::object& meta = owner.at("metadata").as_object();
  Node n;
  n.uid = std::string(GetStringOr(meta, "uid", ""));
  std::lock_guard lock(mu_);
  auto source = sources_.find(gvr.group + "/" + gvr.resource);
  // Not watched (so its deletion would go unseen), deleted since the lookup, no longer named, or
  // already there: nothing to add.
  if (source == sources_.end() || absent_.count(n.uid) || !dependents_.count(n.uid) || nodes_.count(n.uid)) return;
  n.gvr = source->second.gvr;
  n.ns = std::string(GetStringOr(meta, "namespace", ""));
  n.name = std::string(GetStringOr(meta, "name", ""));
  n.deleting = runtime::deletion_requested(owner);
  n.foreground = n.deleting && HasFinalizer(meta, api::kForegroundFinalizer);
  n.orphan = n.deleting && HasFinalizer(meta, api::kOrphanFinalizer);
  // Its own owners (and its later changes) arrive with its watch events.
  nodes_.emplace(n.uid, std::move(n));
}

Result<bool> GarbageCollector::exists_elsewhere(const client::GroupVersionResource& gvr, const OwnerRef& ref) {
  lookups_.fetch_add(1);
  client::ListOptions options;
  options.field_selector = "metadata.name=" + ref.name;
  auto found = api_.list(gvr, "", options);
  if (!found) return Err(found.error());
  for (const auto& item : found->items)
    if (const json::object* meta = GetObject(item, "metadata"); meta && GetStringOr(*meta, "uid", "") == ref.uid)
      return true;
  return false;
}

Result<GarbageCollector::OwnerState> GarbageCollector::classify(const Node& dependent, const OwnerRef& ref) {
  auto owner_gvr = resource_for(ref.api_version, ref.kind);
  bool cross = false;
  {
    std::lock_guard lock(mu_);
    if (auto it = nodes_.find(ref.uid); it != nodes_.end()) {
      const Node& owner = it->second;
      // A namespaced owner is looked up in the dependent's namespace: one elsewhere (or any, for
      // a cluster-scoped dependent) does not own it.
      if (owner.ns.empty() || owner.ns == dependent.ns)
        return owner.foreground ? OwnerState::kWaiting : OwnerState::kSolid;
      cross = true;
    }
  }
  if (cross) {
    warn_invalid_namespace(dependent, ref);
    return OwnerState::kDangling;
  }
  if (known_absent(ref.uid)) return OwnerState::kDangling;
  if (!owner_gvr) return Err(Status::NotFound("no served resource has kind " + ref.kind + " in " + ref.api_version));
  // Absence must be certain: ask the server, not the graph.
  if (!owner_gvr->namespaced || !dependent.ns.empty()) {
    lookups_.fetch_add(1);
    auto got = api_.get(*owner_gvr, owner_gvr->namespaced ? dependent.ns : std::string(), ref.name);
    if (!got && got.error().code() != StatusCode::kNotFound) return Err(got.error());
    if (got && GetStringOr(got->at("metadata").as_object(), "uid", "") == ref.uid) {
      track_owner(*got, *owner_gvr);
      return runtime::deletion_requested(*got) &&
                     HasFinalizer(got->at("metadata").as_object(), api::kForegroundFinalizer)
                 ? OwnerState::kWaiting
                 : OwnerState::kSolid;
    }
    // Absent, or the same name on a new object: the old owner is gone from here.
  }
  if (owner_gvr->namespaced) {
    // Not in the dependent's namespace (a cluster-scoped dependent has none): if it lives in
    // another one, the reference is invalid rather than the owner gone, and the user is told.
    // Either way it does not own this dependent; the list only decides what to tell the user, so
    // a failed list costs the warning (and the absent-owner entry), not the collection.
    auto elsewhere = exists_elsewhere(*owner_gvr, ref);
    if (!elsewhere) {
      spdlog::debug("garbage collector: looking for {} {} in other namespaces: {}", ref.kind, ref.name,
                    elsewhere.error().to_string());
      return OwnerState::kDangling;
    }
    if (*elsewhere) {
      warn_invalid_namespace(dependent, ref);
      return OwnerState::kDangling;
    }
  }
  remember_absent(ref.uid);
  return OwnerState::kDangling;
}

Result<json::object> GarbageCollector::live(const Node& node) { return api_.get(*node.gvr, node.ns, node.name); }

Status GarbageCollector::patch_owner_refs(const Node& node, const std::function<bool(json::object& ref)>& edit) {
  auto got = live(node);
  if (!got) return got.error().code() == StatusCode::kNotFound ? Status::Ok() : got.error();
  json::object& meta = got->at("metadata").as_object();
  if (GetStringOr(meta, "uid", "") != node.uid) return Status::Ok();
  json::array refs;
  if (const json::array* a = GetArray(meta, "ownerReferences")) {
    for (const auto& r : *a) {
      json::object ref = r.is_object() ? r.as_object() : json::object();
      if (edit(ref)) refs.push_back(std::move(ref));  // false: drop it
    }
  }
  // A merge patch replaces the list whole; the resourceVersion makes it conditional, so a
  // concurrent change is a Conflict and the item is retried with the new list.
  json::object patch{{"metadata",
                      {{"ownerReferences", refs.empty() ? json::value(nullptr) : json::value(std::move(refs))},
                       {"resourceVersion", GetStringOr(meta, "resourceVersion", "")}}}};
  auto r = api_.patch(*node.gvr, node.ns, node.name, client::PatchType::kMerge, ToJson(patch));
  if (!r && r.error().code() != StatusCode::kNotFound) return r.error();
  return Status::Ok();
}

Status GarbageCollector::remove_finalizer(const Node& node, std::string_view finalizer) {
  auto got = live(node);
  if (!got) return got.error().code() == StatusCode::kNotFound ? Status::Ok() : got.error();
  if (GetStringOr(got->at("metadata").as_object(), "uid", "") != node.uid) return Status::Ok();
  if (!runtime::remove_finalizer(*got, finalizer)) return Status::Ok();
  auto r = api_.update(*node.gvr, node.ns, *got);
  if (!r && r.error().code() != StatusCode::kNotFound) return r.error();
  if (r) finalizers_removed_.fetch_add(1);
  return Status::Ok();
}

Status GarbageCollector::attempt_to_delete(const std::string& uid) {
  Node node;
  bool has_dependents = false, dependent_waits = false;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end()) return Status::Ok();
    node = it->second;
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      has_dependents = true;
      for (const auto& dep : d->second)
        if (auto n = nodes_.find(dep); n != nodes_.end() && n->second.foreground) dependent_waits = true;
    }
  }
  // Already going, and not waiting for dependents of its own: nothing to add.
  if (node.deleting && !node.foreground) return Status::Ok();
  if (node.owners.empty()) return Status::Ok();
  std::vector<OwnerRef> solid, waiting, dangling;
  auto sort_owners = [&]() -> Status {
    solid.clear();
    waiting.clear();
    dangling.clear();
    for (const auto& ref : node.owners) {
      auto state = classify(node, ref);
      if (!state) return state.error();
      (*state == OwnerState::kSolid ? solid : *state == OwnerState::kWaiting ? waiting : dangling).push_back(ref);
    }
    return Status::Ok();
  };
  if (Status s = sort_owners(); !s.ok()) return s;
  if (dangling.empty() && waiting.empty()) return Status::Ok();
  // About to act: decide on the object as the server has it now, not as the graph last saw it
  // (its references may have just been changed, by the orphan step say).
  {
    auto latest = live(node);
    if (!latest) return latest.error().code() == StatusCode::kNotFound ? Status::Ok() : latest.error();
    if (GetStringOr(latest->at("metadata").as_object(), "uid", "") != node.uid) return Status::Ok();
    node.owners = OwnersOf(latest->at("metadata").as_object());
    node.deleting = runtime::deletion_requested(*latest);
    if (node.owners.empty() || (node.deleting && !node.foreground)) return Status::Ok();
    if (Status s = sort_owners(); !s.ok()) return s;
    if (dangling.empty() && waiting.empty()) return Status::Ok();
  }
  auto in = [](const std::vector<OwnerRef>& refs, std::string_view uid) {
    return std::any_of(refs.begin(), refs.end(), [&](const OwnerRef& r) { return r.uid == uid; });
  };
  if (!solid.empty()) {
    if (dangling.empty() && waiting.empty()) return Status::Ok();
    // Someone still owns it: only the references to owners that are gone (or going) go.
    Status s = patch_owner_refs(node, [&](json::object& ref) {
      const std::string_view ref_uid = GetStringOr(ref, "uid", "");
      return !in(dangling, ref_uid) && !in(waiting, ref_uid);
    });
    if (s.ok()) refs_removed_.fetch_add(dangling.size() + waiting.size());
    return s;
  }
  client::DeleteOptions options;
  options.precondition_uid = node.uid;
  if (!waiting.empty() && has_dependents) {
    // An owner waits for it, and it has dependents of its own: it goes in the foreground too, so
    // the owner waits for the whole subtree. If one of those dependents is itself waiting for its
    // dependents, this may be a cycle (upstream's detection, with its false positives): the
    // references to the waiting owners stop blocking, so the cycle cannot wait on itself.
    if (dependent_waits) {
      Status s = patch_owner_refs(node, [&](json::object& ref) {
        if (in(waiting, GetStringOr(ref, "uid", ""))) ref["blockOwnerDeletion"] = false;
        return true;
      });
      if (!s.ok()) return s;
    }
    options.propagation_policy = "Foreground";
  } else {
    // No owner left: it goes, as its own finalizers ask (an orphan finalizer keeps its dependents).
    options.propagation_policy = node.orphan ? "Orphan" : node.foreground ? "Foreground" : "Background";
  }
  if (node.deleting && options.propagation_policy == "Foreground" && node.foreground) return Status::Ok();
  auto r = api_.remove(*node.gvr, node.ns, node.name, options);
  if (!r && r.error().code() != StatusCode::kNotFound && r.error().code() != StatusCode::kConflict) return r.error();
  if (r) deleted_.fetch_add(1);
  return Status::Ok();
}

Status GarbageCollector::orphan_dependents(const std::string& uid) {
  Node owner;
  std::vector<Node> deps;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end() || !it->second.orphan) return Status::Ok();
    owner = it->second;
    if (auto d = dependents_.find(uid); d != dependents_.end())
      for (const auto& dep : d->second)
        if (auto n = nodes_.find(dep); n != nodes_.end()) deps.push_back(n->second);
  }
  for (const auto& dep : deps) {
    Status s = patch_owner_refs(dep, [&](json::object& ref) { return GetStringOr(ref, "uid", "") != uid; });
    if (!s.ok()) return s;
    orphaned_.fetch_add(1);
  }
  // Every dependent the graph knows is free; the finalizer goes and the owner with it.
  return remove_finalizer(owner, api::kOrphanFinalizer);
}

Status GarbageCollector::finish_foreground(const std::string& uid) {
  Node owner;
  std::vector<std::string> to_delete;
  bool blocked = false;
  {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(uid);
    if (it == nodes_.end() || !it->second.foreground) return Status::Ok();
    owner = it->second;
    if (auto d = dependents_.find(uid); d != dependents_.end()) {
      for (const auto& dep : d->second) {
        auto n = nodes_.find(dep);
        if (n == nodes_.end()) continue;
        if (!n->second.deleting || n->second.foreground) to_delete.push_back(dep);
        for (const auto& ref : n->second.owners)
          if (ref.uid == uid && ref.block) blocked = true;
      }
    }
  }
  for (auto& dep : to_delete) enqueue("d:" + dep);
  if (blocked) return Status::Ok();  // a dependent's deletion (or unblocking) requeues this owner
  return remove_finalizer(owner, api::kForegroundFinalizer);
}

std::string GarbageCollector::metrics_text() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(v) + "\n";
  };
  counter("setpoint_gc_deleted_total", "Objects the garbage collector deleted because their owners were gone.",
          deleted_.load());
  counter("setpoint_gc_owner_references_removed_total",
          "References to absent or foreground-deleted owners removed from objects that still have other owners.",
          refs_removed_.load());
  counter("setpoint_gc_orphaned_total", "Dependents released from an owner deleted with propagationPolicy=Orphan.",
          orphaned_.load());
  counter("setpoint_gc_finalizers_removed_total", "orphan and foregroundDeletion finalizers the collector removed.",
          finalizers_removed_.load());
  counter("setpoint_gc_owner_lookups_total", "Live GETs to check whether an owner exists.", lookups_.load());
  counter("setpoint_gc_errors_total", "Work items that failed and were retried with backoff.", errors_.load());
  std::size_t nodes = 0, sources = 0;
  std::uint64_t lists = 0;
  {
    std::lock_guard lock(mu_);
    nodes = nodes_.size();
    sources = sources_.size();
    for (const auto& [k, s] : sources_) lists += s.watcher->relists();
  }
  counter("setpoint_gc_lists_total",
          "Full lists made by the collector's watches: one per resource at start, then one after each watch "
          "that fell too far behind or expired.",
          lists);
  out +=
      "# HELP setpoint_gc_graph_objects Objects in the garbage collector's ownership graph.\n"
      "# TYPE setpoint_gc_graph_objects gauge\nsetpoint_gc_graph_objects " +
      std::to_string(nodes) + "\n";
  out +=
      "# HELP setpoint_gc_watched_resources Resources the garbage collector watches.\n"
      "# TYPE setpoint_gc_watched_resources gauge\nsetpoint_gc_watched_resources " +
      std::to_string(sources) + "\n";
  std::vector<runtime::NamedWorkQueueMetrics> q{{"garbagecollector", queue_->metrics()}};
  runtime::RenderPrometheus(out, q);
  return out;
}

}  // namespace setpoint::controllers
