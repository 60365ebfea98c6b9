// The OpenAPI schema of a `status.conditions` list of metav1.Condition (seed-systems §7.3), with
// the patterns kube-apiserver validates: one definition for setpoint's own kinds, the CRDs the
// operator scaffold writes, and anyone writing a CRD by hand. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace setpoint::api {

inline constexpr std::string_view kConditionTypePattern =
    R"(^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$)";
inline constexpr std::string_view kConditionReasonPattern = R"(^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$)";

// The schema as YAML, every line indented by `indent` spaces (the first line too), ending in a
// newline: `type: array`, list-map keyed by type, required fields, patterns and bounds.
std::string ConditionsSchemaYaml(int indent = 0);

}  // namespace setpoint::api
