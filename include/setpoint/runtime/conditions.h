// metav1.Condition helpers over the JSON form of `status.conditions` (a list keyed by `type`),
// with the semantics of apimachinery's `meta.SetStatusCondition` and the field rules of
// `metav1.Condition` (reference/seed-systems.md §7.3).
//
// The central rule: lastTransitionTime changes ONLY when status changes; reason, message and
// observedGeneration are always brought up to date. Stateless free functions; thread-compatible
// (callers own the arrays they pass).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "setpoint/common/clock.h"
#include "setpoint/common/status.h"

namespace setpoint::runtime {

inline constexpr std::string_view kConditionTrue = "True";
inline constexpr std::string_view kConditionFalse = "False";
inline constexpr std::string_view kConditionUnknown = "Unknown";

struct Condition {
  std::string type;                              // e.g. "Available", "example.com/Degraded"
  std::string status;                            // True | False | Unknown
  std::string reason;                            // CamelCase, e.g. "MinimumReplicasAvailable"
  std::string message;                           // may be empty
  std::int64_t observed_generation = 0;          // 0 is omitted, as omitempty does
  std::optional<WallTime> last_transition_time;  // unset: `now` when the status changes

  boost::json::object to_json(WallTime now) const;
};

// Inserts or updates the condition of c.type. Returns whether anything in the array changed.
bool set_condition(boost::json::array& conditions, const Condition& c, WallTime now);

// The condition of `type`, or nullptr. Entries that are not objects are skipped.
const boost::json::object* find_condition(const boost::json::array& conditions, std::string_view type);
bool is_true(const boost::json::array& conditions, std::string_view type);
bool is_false(const boost::json::array& conditions, std::string_view type);
// Removes every entry of `type`; returns whether any was removed.
bool remove_condition(boost::json::array& conditions, std::string_view type);

// Field errors of one condition as the API server reports them (reason FieldValueRequired /
// FieldValueInvalid / FieldValueNotSupported / FieldValueTooLong), under `path`
// (e.g. "status.conditions[0]"). Empty when valid.
std::vector<StatusCause> validate_condition(const boost::json::value& condition, std::string_view path);
// Every entry, plus the list-map rule that no two entries share a type (FieldValueDuplicate).
std::vector<StatusCause> validate_conditions(const boost::json::array& conditions, std::string_view path);

// The name rules on their own (exposed for tests and other validators).
bool is_valid_condition_type(std::string_view type);
bool is_valid_condition_reason(std::string_view reason);

}  // namespace setpoint::runtime
