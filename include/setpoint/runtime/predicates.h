// Event filters (predicates) and trigger mappers (object → reconcile requests) for the
// controller's sources, with controller-runtime's semantics (`pkg/predicate`, `pkg/handler`).
//
// A Predicate has one test per event kind; an empty test lets the event through. A source passes
// an event on only when every one of its predicates does. Stateless value types and free
// functions; thread-compatible (the controller calls them on informer dispatch threads).
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/api/label_selector.h"
#include "setpoint/runtime/reconcile.h"

namespace setpoint::runtime {

struct Predicate {
  std::function<bool(const boost::json::object& obj)> create;
  std::function<bool(const boost::json::object& old_obj, const boost::json::object& new_obj)> update;
  std::function<bool(const boost::json::object& obj)> remove;
};

// Updates pass only when metadata.generation changed (spec changes; status writes do not bump it).
// Creates and deletes pass.
Predicate GenerationChangedPredicate();
// Updates pass only when metadata.resourceVersion changed (drops relist resyncs).
Predicate ResourceVersionChangedPredicate();
// Updates pass only when metadata.annotations changed.
Predicate AnnotationChangedPredicate();
// Updates pass only when metadata.labels changed.
Predicate LabelChangedPredicate();
// Every event passes only when the object's labels match (on update: the new object's).
Predicate LabelSelectorPredicate(api::LabelSelector selector);

// The request naming the object itself (For).
Request RequestForObject(const boost::json::object& obj);

// The requests for the object's owners of `owner_kind` in API group `owner_group` (version
// ignored; "" is the core group): the controller owner only, or every matching owner when
// `controller_only` is false (Owns). Namespaced owners live in the object's namespace; the
// requests for a cluster-scoped owner kind (`owner_namespaced` false) have no namespace.
std::vector<Request> RequestsForOwners(const boost::json::object& obj, std::string_view owner_group,
                                       std::string_view owner_kind, bool controller_only, bool owner_namespaced = true);

}  // namespace setpoint::runtime
