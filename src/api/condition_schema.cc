#include "setpoint/api/condition_schema.h"

namespace setpoint::api {

std::string ConditionsSchemaYaml(int indent) {
  const std::string lines[] = {
      "type: array",
      "x-kubernetes-list-type: map",
      "x-kubernetes-list-map-keys: [type]",
      "items:",
      "  type: object",
      "  required: [type, status, lastTransitionTime, reason, message]",
      "  properties:",
      "    type:",
      "      type: string",
      "      maxLength: 316",
      "      pattern: '" + std::string(kConditionTypePattern) + "'",
      "    status:",
      "      type: string",
      "      enum: [\"True\", \"False\", \"Unknown\"]",
      "    observedGeneration:",
      "      type: integer",
      "      format: int64",
      "      minimum: 0",
      "    lastTransitionTime:",
      "      type: string",
      "      format: date-time",
      "    reason:",
      "      type: string",
      "      maxLength: 1024",
      "      minLength: 1",
      "      pattern: '" + std::string(kConditionReasonPattern) + "'",
      "    message:",
      "      type: string",
      "      maxLength: 32768",
  };
  std::string out;
  const std::string pad(static_cast<std::size_t>(indent < 0 ? 0 : indent), ' ');
  for (const auto& line : lines) out += pad + line + "\n";
  return out;
}

}  // namespace setpoint::api
