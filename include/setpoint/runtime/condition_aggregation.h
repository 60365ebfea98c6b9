// Owner conditions aggregated from the conditions of the components it owns, the way the
// OpenShift HyperConverged operator does it (reference/seed-systems.md §7.4 steps 3, 5, 8, 10,
// 12, 13): an owner always reports the five types ReconcileComplete, Available, Progressing,
// Degraded and Upgradeable, and a negative component condition wins over the owner's own verdict.
//
// One reconcile pass:
//
//   if (is_first_sight(owner)) { set_init_conditions(conditions, gen, now, wording); requeue; }
//   ConditionAggregator pass(gen, wording);            // in-memory set starts empty (step 5)
//   for each component: pass.add_component("KubeVirt", its status.conditions);   (step 8)
//   pass.aggregate();                                   (step 10)
//   json::array next = conditions; if (pass.apply(next, now)) write status;      (step 13)
//   switch (availability_change(conditions, next)) { record an event on an edge } (step 12)
//
// ConditionAggregator is a value confined to the reconcile that made it (not thread-safe); the
// free functions are stateless and thread-compatible (callers own the arrays they pass).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "setpoint/common/clock.h"
#include "setpoint/runtime/conditions.h"

namespace setpoint::runtime {

inline constexpr std::string_view kConditionReconcileComplete = "ReconcileComplete";
inline constexpr std::string_view kConditionAvailable = "Available";
inline constexpr std::string_view kConditionProgressing = "Progressing";
inline constexpr std::string_view kConditionDegraded = "Degraded";
inline constexpr std::string_view kConditionUpgradeable = "Upgradeable";
// Always written, in this order.
inline constexpr std::array<std::string_view, 5> kAggregatedConditionTypes = {
    kConditionReconcileComplete, kConditionAvailable, kConditionProgressing, kConditionDegraded, kConditionUpgradeable};

inline constexpr std::string_view kReasonInit = "Init";
inline constexpr std::string_view kReasonReconcileCompleted = "ReconcileCompleted";
inline constexpr std::string_view kMessageReconcileCompleted = "Reconcile completed successfully";
inline constexpr std::string_view kReasonStatusUnknown = "StatusUnknown";
inline constexpr std::string_view kMessageStatusUnknown = "Unknown Status";

// The owner's words. The defaults are HCO's: reasons HCODegraded and HCOProgressing, messages
// "HCO is not available due to degraded components", Init message "Initializing HyperConverged
// cluster". for_kind("Memcached") gives MemcachedDegraded, "Memcached is not available …" and
// "Initializing Memcached".
struct ConditionWording {
  std::string owner = "HCO";
  std::string init_message = "Initializing HyperConverged cluster";

  static ConditionWording for_kind(std::string_view kind);
};

// The in-memory conditions of one pass. Component names become reason prefixes as given
// ("KubeVirt" → KubeVirtDegraded); characters a reason may not contain are dropped from the
// reason (not from the message), so "kube-virt" gives kubevirtDegraded and stays valid.
class ConditionAggregator {
 public:
  // `generation` is the owner's metadata.generation: every condition written carries it.
  explicit ConditionAggregator(std::int64_t generation, ConditionWording wording = {});

  // Folds one component's status.conditions (nullptr or empty: it reports none) into the set,
  // recording only negative conditions (§7.4 step 8). Between components the later one's reason
  // replaces an earlier one's for the same type, as upstream does. Returns whether the component
  // is ready: Available, Progressing and Degraded all present and none of them negative.
  bool add_component(std::string_view component, const boost::json::array* conditions);
  // The same, reading `status.conditions` of a component object.
  bool add_component_object(std::string_view component, const boost::json::object& object);

  // An owner condition of the caller's own (e.g. ReconcileComplete=False/InvalidRequest, or
  // Progressing=True/HCOUpgrading after aggregate()). `set` replaces status, reason and
  // message; `set_if_unset` does nothing when the type is already in the set. Types outside
  // the five are written by apply() too.
  void set(std::string_view type, std::string_view status, std::string_view reason, std::string_view message);
  void set_if_unset(std::string_view type, std::string_view status, std::string_view reason, std::string_view message);

  // §7.4 step 10: fills the five types, never overriding a negative condition already in the
  // set. Returns whether every component was up (the set was empty before). Call once a pass.
  bool aggregate();

  // The in-memory condition of `type`, or nullptr (e.g. to pass Upgradeable's reason on).
  const Condition* find(std::string_view type) const;
  const std::vector<Condition>& conditions() const { return conditions_; }

  // §7.4 step 13: set_condition()s each of the five types into `status_conditions` (a type not
  // set in this pass becomes Unknown/StatusUnknown "Unknown Status"), then any other type set in
  // this pass; other entries are left alone. lastTransitionTime moves only where a status
  // changes. Returns whether anything changed: false means the status write can be skipped.
  bool apply(boost::json::array& status_conditions, WallTime now) const;
  // apply() on status.conditions (created if absent), and status.observedGeneration set to the
  // generation. Returns whether anything changed.
  bool apply_to_status(boost::json::object& status, WallTime now) const;

 private:
  Condition* find_mutable(std::string_view type);

  std::int64_t generation_;
  ConditionWording wording_;
  std::vector<Condition> conditions_;
};

// An owner with no status.conditions yet (absent, null or empty): §7.4 step 3 applies.
bool is_first_sight(const boost::json::object& owner);

// §7.4 step 3: ReconcileComplete=Unknown, Available=False, Progressing=True, Degraded=False,
// Upgradeable=Unknown, all reason Init with wording.init_message and observedGeneration
// `generation`. Returns whether anything changed.
bool set_init_conditions(boost::json::array& conditions, std::int64_t generation, WallTime now,
                         const ConditionWording& wording = {});

// Available=True and Progressing=False: the owner is fully available.
bool is_fully_available(const boost::json::array& conditions);

// §7.4 step 12: record "became available" (a Normal event) or "stopped being available" (a
// Warning) only on these edges, never on every healthy or unhealthy pass. Pass the conditions
// as they were before apply() and as they are after.
enum class AvailabilityChange { kNone, kBecameAvailable, kStoppedBeingAvailable };
AvailabilityChange availability_change(const boost::json::array& before, const boost::json::array& after);

// §7.5: whether an object's conditions describe its current spec — it has at least one
// condition and every condition's observedGeneration (absent: 0) equals metadata.generation
// (absent: 0). A condition left from a previous spec must not be trusted.
bool conditions_are_current(const boost::json::object& object);

}  // namespace setpoint::runtime
