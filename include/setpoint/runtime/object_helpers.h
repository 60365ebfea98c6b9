// Owner references and finalizers on the JSON form of any Kubernetes object, with
// controller-runtime's semantics (`pkg/controller/controllerutil`).
//
// Owner references live in metadata.ownerReferences; two references name the same owner when
// their API group (version ignored), kind and name match, as upstream's referSameObject does.
// Finalizers live in metadata.finalizers. Every mutator returns whether it changed the object, so
// a reconciler writes only when needed. Stateless free functions; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "setpoint/common/status.h"

namespace setpoint::runtime {

// The StatusCause reason carried by the Conflict that set_controller_reference returns when a
// different controller already owns the object (upstream's AlreadyOwnedError).
inline constexpr std::string_view kAlreadyOwnedReason = "AlreadyOwned";

// Makes `owner` the managing controller of `object`: an owner reference with controller=true and
// blockOwnerDeletion=true, replacing any existing reference to the same owner.
// Errors: Invalid when owner lacks apiVersion/kind/name/uid, or when the owner is namespaced and
// the object is cluster-scoped or in another namespace; Conflict with cause kAlreadyOwnedReason
// when another controller reference exists ("Object ns/name is already owned by another Kind
// controller name"). The object is unchanged on error.
Status set_controller_reference(const boost::json::object& owner, boost::json::object& object);

// Adds (or replaces) a plain owner reference: apiVersion, kind, name, uid only, no controller or
// blockOwnerDeletion flags. Same validation as above, minus the AlreadyOwned check.
Status set_owner_reference(const boost::json::object& owner, boost::json::object& object);

// Removes the reference to `owner` (group + kind + name); returns whether one was removed.
bool remove_owner_reference(const boost::json::object& owner, boost::json::object& object);

// The owner reference with controller=true, or nullptr.
const boost::json::object* get_controller_of(const boost::json::object& object);
// Whether any owner reference carries this uid.
bool is_owned_by(const boost::json::object& object, std::string_view owner_uid);

// Finalizers: return whether metadata.finalizers changed. Adding is idempotent; removing removes
// every copy.
bool add_finalizer(boost::json::object& object, std::string_view finalizer);
bool remove_finalizer(boost::json::object& object, std::string_view finalizer);
bool has_finalizer(const boost::json::object& object, std::string_view finalizer);
// metadata.finalizers (the string entries), in order.
std::vector<std::string> finalizers(const boost::json::object& object);

// Whether metadata.deletionTimestamp is set: the object is being deleted and waits for its
// finalizers.
bool deletion_requested(const boost::json::object& object);

}  // namespace setpoint::runtime
