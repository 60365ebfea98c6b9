#include "setpoint/runtime/condition_aggregation.h"

#include <utility>

#include "setpoint/common/json.h"

namespace json = boost::json;

namespace setpoint::runtime {
namespace {

bool IsReasonChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A name as the start of a reason: only [A-Za-z0-9_], beginning with a letter. Every suffix
// appended ("Degraded", "NotAvailable", …) ends in a letter, so the reason is valid.
std::string ReasonPrefix(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (!IsReasonChar(c)) continue;
    if (out.empty() && !IsLetter(c)) continue;
    out += c;
  }
  return out.empty() ? std::string("Component") : out;
}

std::string_view Field(const json::object& o, std::string_view key) { return GetStringOr(o, key, ""); }

const json::array* ConditionsOf(const json::object& object) {
  const json::object* status = GetObject(object, "status");
  return status == nullptr ? nullptr : GetArray(*status, "conditions");
}

}  // namespace

ConditionWording ConditionWording::for_kind(std::string_view kind) {
  return ConditionWording{std::string(kind), "Initializing " + std::string(kind)};
}

ConditionAggregator::ConditionAggregator(std::int64_t generation, ConditionWording wording)
    : generation_(generation), wording_(std::move(wording)) {}

Condition* ConditionAggregator::find_mutable(std::string_view type) {
  for (Condition& c : conditions_) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

const Condition* ConditionAggregator::find(std::string_view type) const {
  for (const Condition& c : conditions_) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

void ConditionAggregator::set(std::string_view type, std::string_view status, std::string_view reason,
                              std::string_view message) {
  if (Condition* existing = find_mutable(type)) {
    existing->status = status;
    existing->reason = reason;
    existing->message = message;
    return;
  }
  conditions_.push_back(Condition{std::string(type), std::string(status), std::string(reason), std::string(message),
                                  generation_, std::nullopt});
}

void ConditionAggregator::set_if_unset(std::string_view type, std::string_view status, std::string_view reason,
                                       std::string_view message) {
  if (find(type) == nullptr) set(type, status, reason, message);
}

bool ConditionAggregator::add_component(std::string_view component, const json::array* conditions) {
  const std::string prefix = ReasonPrefix(component);
  const std::string name(component);
  bool any = false;
  if (conditions != nullptr) {
    for (const json::value& v : *conditions) any = any || v.is_object();
  }
  if (!any) {
    // A component that reports nothing is neither available nor settled.
    const std::string reason = prefix + "Conditions";
    const std::string message = name + " resource has no conditions";
    set(kConditionAvailable, kConditionFalse, reason, message);
    set(kConditionProgressing, kConditionTrue, reason, message);
    set(kConditionUpgradeable, kConditionFalse, reason, message);
    return false;
  }

  bool negative = false;
  bool found_available = false;
  bool found_progressing = false;
  bool found_degraded = false;
  for (const json::value& v : *conditions) {
    if (!v.is_object()) continue;
    const json::object& c = v.get_object();
    const std::string_view type = Field(c, "type");
    const std::string_view status = Field(c, "status");
    const std::string detail(Field(c, "message"));
    if (type == kConditionAvailable) {
      found_available = true;
      if (status == kConditionFalse) {
        negative = true;
        set(kConditionAvailable, kConditionFalse, prefix + "NotAvailable", name + " is not available: " + detail);
      }
    } else if (type == kConditionProgressing) {
      found_progressing = true;
      if (status == kConditionTrue) {
        negative = true;
        const std::string reason = prefix + "Progressing";
        const std::string message = name + " is progressing: " + detail;
        set(kConditionProgressing, kConditionTrue, reason, message);
        set_if_unset(kConditionUpgradeable, kConditionFalse, reason, message);
      }
    } else if (type == kConditionDegraded) {
      found_degraded = true;
      if (status == kConditionTrue) {
        negative = true;
        set(kConditionDegraded, kConditionTrue, prefix + "Degraded", name + " is degraded: " + detail);
      }
    } else if (type == kConditionUpgradeable) {
      // Not part of readiness: a component may run fine and still block upgrades.
      if (status == kConditionFalse) {
        set(kConditionUpgradeable, kConditionFalse, prefix + "NotUpgradeable", name + " is not upgradeable: " + detail);
      }
    }
  }
  if (!found_available) {
    set(kConditionAvailable, kConditionFalse, prefix + "NotAvailable", R"(missing "Available" condition)");
  }
  return !negative && found_available && found_progressing && found_degraded;
}

bool ConditionAggregator::add_component_object(std::string_view component, const json::object& object) {
  return add_component(component, ConditionsOf(object));
}

bool ConditionAggregator::aggregate() {
  const bool all_up = conditions_.empty();
  const std::string& owner = wording_.owner;
  const std::string owner_prefix = ReasonPrefix(owner);
  set(kConditionReconcileComplete, kConditionTrue, kReasonReconcileCompleted, kMessageReconcileCompleted);

  if (find(kConditionDegraded) != nullptr) {
    set_if_unset(kConditionProgressing, kConditionFalse, kReasonReconcileCompleted, kMessageReconcileCompleted);
    set_if_unset(kConditionUpgradeable, kConditionFalse, owner_prefix + "Degraded",
                 owner + " is not Upgradeable due to degraded components");
    set_if_unset(kConditionAvailable, kConditionFalse, owner_prefix + "Degraded",
                 owner + " is not available due to degraded components");
    return all_up;
  }

  set(kConditionDegraded, kConditionFalse, kReasonReconcileCompleted, kMessageReconcileCompleted);
  if (find(kConditionProgressing) != nullptr) {
    set_if_unset(kConditionUpgradeable, kConditionFalse, owner_prefix + "Progressing",
                 owner + " is not Upgradeable due to progressing components");
    set_if_unset(kConditionAvailable, kConditionTrue, kReasonReconcileCompleted, kMessageReconcileCompleted);
  } else {
    set(kConditionProgressing, kConditionFalse, kReasonReconcileCompleted, kMessageReconcileCompleted);
    set_if_unset(kConditionUpgradeable, kConditionTrue, kReasonReconcileCompleted, kMessageReconcileCompleted);
    set_if_unset(kConditionAvailable, kConditionTrue, kReasonReconcileCompleted, kMessageReconcileCompleted);
  }
  return all_up;
}

bool ConditionAggregator::apply(json::array& status_conditions, WallTime now) const {
  bool changed = false;
  for (std::string_view type : kAggregatedConditionTypes) {
    const Condition* c = find(type);
    const Condition unknown{std::string(type),
                            std::string(kConditionUnknown),
                            std::string(kReasonStatusUnknown),
                            std::string(kMessageStatusUnknown),
                            generation_,
                            std::nullopt};
    changed = set_condition(status_conditions, c != nullptr ? *c : unknown, now) || changed;
  }
  for (const Condition& c : conditions_) {
    bool aggregated = false;
    for (std::string_view type : kAggregatedConditionTypes) aggregated = aggregated || c.type == type;
    if (!aggregated) changed = set_condition(status_conditions, c, now) || changed;
  }
  return changed;
}

bool ConditionAggregator::apply_to_status(json::object& status, WallTime now) const {
  bool changed = false;
  json::value& list = status["conditions"];
  if (!list.is_array()) {
    list = json::array();
    changed = true;
  }
  changed = apply(list.get_array(), now) || changed;
  if (GetInt(status, "observedGeneration") != generation_) {
    status["observedGeneration"] = generation_;
    changed = true;
  }
  return changed;
}

bool is_first_sight(const json::object& owner) {
  const json::array* conditions = ConditionsOf(owner);
  return conditions == nullptr || conditions->empty();
}

bool set_init_conditions(json::array& conditions, std::int64_t generation, WallTime now,
                         const ConditionWording& wording) {
  const std::pair<std::string_view, std::string_view> init[] = {
      {kConditionReconcileComplete, kConditionUnknown}, {kConditionAvailable, kConditionFalse},
      {kConditionProgressing, kConditionTrue},          {kConditionDegraded, kConditionFalse},
      {kConditionUpgradeable, kConditionUnknown},
  };
  bool changed = false;
  for (const auto& [type, status] : init) {
    const Condition c{std::string(type),    std::string(status), std::string(kReasonInit),
                      wording.init_message, generation,          std::nullopt};
    changed = set_condition(conditions, c, now) || changed;
  }
  return changed;
}

bool is_fully_available(const json::array& conditions) {
  return is_true(conditions, kConditionAvailable) && is_false(conditions, kConditionProgressing);
}

AvailabilityChange availability_change(const json::array& before, const json::array& after) {
  const bool was = is_fully_available(before);
  const bool is = is_fully_available(after);
  if (!was && is) return AvailabilityChange::kBecameAvailable;
  if (was && !is) return AvailabilityChange::kStoppedBeingAvailable;
  return AvailabilityChange::kNone;
}

bool conditions_are_current(const json::object& object) {
  const json::array* conditions = ConditionsOf(object);
  if (conditions == nullptr || conditions->empty()) return false;
  const json::object* metadata = GetObject(object, "metadata");
  const std::int64_t generation = metadata == nullptr ? 0 : GetInt(*metadata, "generation").value_or(0);
  for (const json::value& v : *conditions) {
    if (!v.is_object()) return false;
    if (GetInt(v.get_object(), "observedGeneration").value_or(0) != generation) return false;
  }
  return true;
}

}  // namespace setpoint::runtime
