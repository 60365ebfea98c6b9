// Base64 (RFC 4648) for the API's opaque tokens and kubeconfig data fields. Stateless;
// thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "setpoint/common/status.h"

namespace setpoint {

// Standard alphabet, with padding.
std::string Base64Encode(std::string_view bytes);

// Accepts the standard and the URL-safe alphabets, with or without padding, and ignores
// whitespace (kubeconfig data is often wrapped). Errors: BadRequest.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace setpoint
