// Strategic merge patch: the directive handling of k8s.io/apimachinery/pkg/util/strategicpatch
// that kubectl apply/edit/patch emit, driven by a path -> merge-key table instead of Go struct
// tags.
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/json_util.h"
#include "setpoint/api/patch.h"

namespace setpoint::api {
namespace json = boost::json;

namespace {

constexpr std::string_view kPatchDirective = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr int kMaxDepth = 1000;

std::string ChildPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

bool IsDirectiveKey(std::string_view k) {
  return k == kPatchDirective || k == kRetainKeys || k.starts_with(kDeleteFromPrimitiveList) ||
         k.starts_with(kSetElementOrder);
}

Status BadPatch(std::string msg) { return Status::BadRequest("invalid strategic merge patch: " + std::move(msg)); }

class Merger {
 public:
  explicit Merger(const StrategicMergeSchema& schema) : schema_(schema) {}

  Status MergeMap(json::object& target, const json::object& patch, const std::string& path, int depth) {
    if (depth > kMaxDepth) return BadPatch("nested too deeply");
    if (const auto* d = patch.if_contains(kPatchDirective)) {
      if (!d->is_string()) return BadPatch("$patch must be a string");
      std::string_view directive = d->get_string();
      if (directive == "replace") {
        json::object fresh;
        json::object rest = patch;
        rest.erase(kPatchDirective);
        Status s = MergeMap(fresh, rest, path, depth + 1);
        if (s.ok()) target = std::move(fresh);
        return s;
      }
      if (directive == "delete") {
        target.clear();
        return Status::Ok();
      }
      if (directive != "merge") {
        return BadPatch("unknown patch type: " + internal::GoQuote(directive) + " in map: " + internal::GoJson(patch));
      }
    }
    if (const auto* rk = patch.if_contains(kRetainKeys)) {
      Status s = RetainKeys(target, patch, *rk);
      if (!s.ok()) return s;
    }
    for (const auto& kv : patch) {
      std::string_view k = kv.key();
      if (!k.starts_with(kDeleteFromPrimitiveList)) continue;
      Status s = DeleteFromPrimitiveList(target, k.substr(kDeleteFromPrimitiveList.size()), kv.value());
      if (!s.ok()) return s;
    }
    for (const auto& kv : patch) {
      if (IsDirectiveKey(kv.key())) continue;
      Status s = MergeField(target, kv.key(), kv.value(), ChildPath(path, kv.key()), depth);
      if (!s.ok()) return s;
    }
    for (const auto& kv : patch) {
      std::string_view k = kv.key();
      if (!k.starts_with(kSetElementOrder)) continue;
      std::string_view field = k.substr(kSetElementOrder.size());
      Status s = SetElementOrder(target, field, kv.value(), ChildPath(path, field));
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }

 private:
  Status MergeField(json::object& target, std::string_view key, const json::value& pv, const std::string& path,
                    int depth) {
    if (pv.is_null()) {
      target.erase(key);
      return Status::Ok();
    }
    if (const auto* po = pv.if_object()) {
      json::value& slot = target[key];
      if (!slot.is_object()) slot = json::object();
      return MergeMap(slot.get_object(), *po, path, depth + 1);
    }
    if (const auto* pa = pv.if_array()) {
      auto mk = schema_.merge_keys.find(path);
      if (mk == schema_.merge_keys.end()) {
        target[key] = *pa;
        return Status::Ok();
      }
      json::value& slot = target[key];
      if (!slot.is_array()) slot = json::array();
      return MergeList(slot.get_array(), *pa, mk->second, path, depth + 1);
    }
    target[key] = pv;
    return Status::Ok();
  }

  Status MergeList(json::array& target, const json::array& patch, const std::string& merge_key, const std::string& path,
                   int depth) {
    if (depth > kMaxDepth) return BadPatch("nested too deeply");
    // Directive elements first: a replace makes the rest of the patch list the result.
    for (const auto& item : patch) {
      const auto* d = item.is_object() ? item.get_object().if_contains(kPatchDirective) : nullptr;
      if (d == nullptr) continue;
      if (!d->is_string()) return BadPatch("$patch must be a string");
      std::string_view directive = d->get_string();
      if (directive == "replace") {
        json::array fresh;
        for (const auto& other : patch) {
          if (other.is_object() && other.get_object().contains(kPatchDirective)) continue;
          fresh.push_back(other);
        }
        target = std::move(fresh);
        return Status::Ok();
      }
      if (directive != "delete" && directive != "merge") {
        return BadPatch("unknown patch type: " + internal::GoQuote(directive) + " in list: " + internal::GoJson(item));
      }
      if (directive == "delete" && merge_key.empty()) {
        return BadPatch("$patch: delete is not allowed in a list of primitives: " + internal::GoJson(item));
      }
    }
    if (merge_key.empty()) {
      std::unordered_set<std::string> seen;
      json::array merged;
      for (const json::array* list : {static_cast<const json::array*>(&target), &patch}) {
        for (const auto& v : *list) {
          if (seen.insert(internal::CanonicalKey(v)).second) merged.push_back(v);
        }
      }
      target = std::move(merged);
      return Status::Ok();
    }
    // Index the target by merge key once; deletions leave tombstones compacted at the end, so
    // the merge stays O(n + m) however adversarial the patch.
    std::vector<bool> alive(target.size(), true);
    std::unordered_map<std::string, std::vector<std::size_t>> index;
    for (std::size_t i = 0; i < target.size(); ++i) {
      const auto* to = target[i].if_object();
      const auto* tk = to != nullptr ? to->if_contains(merge_key) : nullptr;
      if (tk != nullptr) index[internal::CanonicalKey(*tk)].push_back(i);
    }
    for (const auto& item : patch) {
      const auto* po = item.if_object();
      if (po == nullptr) return BadPatch("list " + path + " expects objects, found " + internal::GoJson(item));
      const auto* key = po->if_contains(merge_key);
      if (key == nullptr) {
        return BadPatch("map: " + internal::GoJson(item) + " does not contain declared merge key: " + merge_key);
      }
      std::string id = internal::CanonicalKey(*key);
      auto it = index.find(id);
      const auto* d = po->if_contains(kPatchDirective);
      if (d != nullptr && d->get_string() == "delete") {
        if (it != index.end()) {
          for (std::size_t i : it->second) alive[i] = false;
          index.erase(it);
        }
        continue;
      }
      if (it == index.end()) {
        json::object fresh;
        Status s = MergeMap(fresh, *po, path, depth + 1);
        if (!s.ok()) return s;
        index[id].push_back(target.size());
        target.push_back(std::move(fresh));
        alive.push_back(true);
      } else {
        Status s = MergeMap(target[it->second.front()].get_object(), *po, path, depth + 1);
        if (!s.ok()) return s;
      }
    }
    json::array kept;
    for (std::size_t i = 0; i < target.size(); ++i) {
      if (alive[i]) kept.push_back(std::move(target[i]));
    }
    target = std::move(kept);
    return Status::Ok();
  }

  static Status RetainKeys(json::object& target, const json::object& patch, const json::value& rk) {
    const auto* list = rk.if_array();
    if (list == nullptr) return BadPatch("invalid patch format of retainKeys");
    std::unordered_set<std::string_view> keep;
    for (const auto& k : *list) {
      if (!k.is_string()) return BadPatch("invalid patch format of retainKeys");
      keep.insert(k.get_string());
    }
    for (const auto& kv : patch) {
      if (kv.value().is_null() || IsDirectiveKey(kv.key())) continue;
      if (!keep.contains(kv.key())) {
        return BadPatch("invalid patch format of retainKeys: " + internal::GoQuote(kv.key()) + " is not retained");
      }
    }
    std::vector<std::string> drop;
    for (const auto& kv : target) {
      if (!keep.contains(kv.key())) drop.emplace_back(kv.key());
    }
    for (const auto& k : drop) target.erase(k);
    return Status::Ok();
  }

  static Status DeleteFromPrimitiveList(json::object& target, std::string_view field, const json::value& values) {
    const auto* del = values.if_array();
    if (del == nullptr) {
      return BadPatch("$deleteFromPrimitiveList/" + std::string(field) + " must be a list");
    }
    auto* list = target.if_contains(field);
    if (list == nullptr || !list->is_array()) return Status::Ok();
    std::unordered_set<std::string> gone;
    for (const auto& v : *del) gone.insert(internal::CanonicalKey(v));
    json::array kept;
    for (auto& v : list->get_array()) {
      if (!gone.contains(internal::CanonicalKey(v))) kept.push_back(std::move(v));
    }
    *list = std::move(kept);
    return Status::Ok();
  }

  Status SetElementOrder(json::object& target, std::string_view field, const json::value& order_value,
                         const std::string& path) {
    const auto* order = order_value.if_array();
    if (order == nullptr) return BadPatch("$setElementOrder/" + std::string(field) + " must be a list");
    auto* list = target.if_contains(field);
    auto mk = schema_.merge_keys.find(path);
    // Only merged lists need ordering: a replaced list already has the patch's order.
    if (list == nullptr || !list->is_array() || mk == schema_.merge_keys.end()) return Status::Ok();
    const std::string& merge_key = mk->second;
    auto identity = [&](const json::value& v) -> std::string {
      if (merge_key.empty()) return internal::CanonicalKey(v);
      const auto* o = v.if_object();
      const auto* k = o != nullptr ? o->if_contains(merge_key) : nullptr;
      return k != nullptr ? internal::CanonicalKey(*k) : std::string();
    };
    auto& items = list->get_array();
    std::unordered_multimap<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < items.size(); ++i) by_id.emplace(identity(items[i]), i);
    std::vector<bool> placed(items.size(), false);
    json::array ordered;
    for (const auto& want : *order) {
      std::string id = identity(want);
      if (id.empty()) {
        return BadPatch("$setElementOrder/" + std::string(field) + " entry lacks merge key " + merge_key);
      }
      auto [lo, hi] = by_id.equal_range(id);
      std::size_t pick = items.size();
      for (auto it = lo; it != hi; ++it) {
        if (!placed[it->second] && it->second < pick) pick = it->second;
      }
      if (pick == items.size()) continue;
      placed[pick] = true;
      ordered.push_back(items[pick]);
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (!placed[i]) ordered.push_back(items[i]);
    }
    items = std::move(ordered);
    return Status::Ok();
  }

  const StrategicMergeSchema& schema_;
};

}  // namespace

StrategicMergeSchema DefaultStrategicMergeSchema() {
  StrategicMergeSchema s;
  s.merge_keys["metadata.finalizers"] = "";
  s.merge_keys["metadata.ownerReferences"] = "uid";
  return s;
}

Result<json::value> ApplyStrategicMergePatch(const json::value& target, const json::value& patch,
                                             const StrategicMergeSchema& schema) {
  const auto* po = patch.if_object();
  if (po == nullptr) return Err(BadPatch("the patch must be a JSON object"));
  json::value out = target;
  if (!out.is_object()) out = json::object();
  Merger merger(schema);
  Status s = merger.MergeMap(out.get_object(), *po, "", 0);
  if (!s.ok()) return Err(std::move(s));
  return out;
}

}  // namespace setpoint::api
