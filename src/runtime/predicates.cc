#include "setpoint/runtime/predicates.h"

#include "setpoint/runtime/cache.h"

namespace setpoint::runtime {
namespace {

const boost::json::value* MetaField(const boost::json::object& obj, std::string_view field) {
  const auto* m = obj.if_contains("metadata");
  if (!m || !m->is_object()) return nullptr;
  return m->as_object().if_contains(field);
}

// Missing, null and {} are the same "no annotations"/"no labels".
bool EmptyOrAbsent(const boost::json::value* v) {
  return v == nullptr || v->is_null() || (v->is_object() && v->as_object().empty());
}

bool SameMap(const boost::json::object& a, const boost::json::object& b, std::string_view field) {
  const auto* x = MetaField(a, field);
  const auto* y = MetaField(b, field);
  if (EmptyOrAbsent(x) || EmptyOrAbsent(y)) return EmptyOrAbsent(x) && EmptyOrAbsent(y);
  return *x == *y;
}

bool SameScalar(const boost::json::object& a, const boost::json::object& b, std::string_view field) {
  const auto* x = MetaField(a, field);
  const auto* y = MetaField(b, field);
  if (!x || !y) return x == y;
  return *x == *y;
}

std::string_view GroupOf(std::string_view api_version) {
  auto slash = api_version.find('/');
  return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

std::string_view Str(const boost::json::object& o, std::string_view k) {
  const auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

}  // namespace

Predicate GenerationChangedPredicate() {
  return {nullptr, [](const auto& o, const auto& n) { return !SameScalar(o, n, "generation"); }, nullptr};
}

Predicate ResourceVersionChangedPredicate() {
  return {nullptr, [](const auto& o, const auto& n) { return !SameScalar(o, n, "resourceVersion"); }, nullptr};
}

Predicate AnnotationChangedPredicate() {
  return {nullptr, [](const auto& o, const auto& n) { return !SameMap(o, n, "annotations"); }, nullptr};
}

Predicate LabelChangedPredicate() {
  return {nullptr, [](const auto& o, const auto& n) { return !SameMap(o, n, "labels"); }, nullptr};
}

Predicate LabelSelectorPredicate(api::LabelSelector selector) {
  auto matches = [selector = std::move(selector)](const boost::json::object& obj) {
    const auto* l = MetaField(obj, "labels");
    return selector.matches(l && l->is_object() ? &l->as_object() : nullptr);
  };
  return {matches, [matches](const auto&, const auto& n) { return matches(n); }, matches};
}

Request RequestForObject(const boost::json::object& obj) {
  return Request{std::string(ObjectNamespace(obj)), std::string(ObjectName(obj))};
}

std::vector<Request> RequestsForOwners(const boost::json::object& obj, std::string_view owner_group,
                                       std::string_view owner_kind, bool controller_only, bool owner_namespaced) {
  std::vector<Request> out;
  const auto* refs = MetaField(obj, "ownerReferences");
  if (!refs || !refs->is_array()) return out;
  for (const auto& r : refs->as_array()) {
    if (!r.is_object()) continue;
    const auto& ref = r.as_object();
    if (controller_only) {
      const auto* c = ref.if_contains("controller");
      if (!c || !c->is_bool() || !c->get_bool()) continue;
    }
    if (Str(ref, "kind") != owner_kind || GroupOf(Str(ref, "apiVersion")) != owner_group) continue;
    auto name = Str(ref, "name");
    if (name.empty()) continue;
    Request req{owner_namespaced ? std::string(ObjectNamespace(obj)) : std::string(), std::string(name)};
    bool dup = false;
    for (const auto& o : out) dup = dup || o == req;
    if (!dup) out.push_back(std::move(req));
  }
  return out;
}

}  // namespace setpoint::runtime
